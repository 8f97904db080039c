//! The in-app Python console: `snapline --store STORE restore RUN@SEQ` (a
//! Python prompt holding the snapshot's state) behind a pseudo-terminal
//! (portable-pty), shown in the window by xterm.js.
//!
//! `console_open` starts one and answers its id; its output goes to the
//! window as `console-output` events (read on a thread of its own), its end
//! as `console-exit`. `console_input` types, `console_resize` follows the
//! panel's size, `console_close` kills it.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use portable_pty::{native_pty_system, ChildKiller, CommandBuilder, MasterPty, PtySize};
use tauri::{AppHandle, Emitter, Manager, Runtime, State};

use crate::commands::AppState;
use crate::restore::{resolve, restore_command};
use crate::views::{AppError, ConsoleExit, ConsoleOutput};

type Answer<T> = Result<T, AppError>;

/// One open console: the terminal's master side, what types into it, and
/// what kills its process.
struct Console {
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    killer: Box<dyn ChildKiller + Send + Sync>,
}

/// The open consoles by id (Tauri managed state).
#[derive(Default)]
pub struct Consoles {
    next: AtomicU32,
    open: Mutex<HashMap<u32, Console>>,
}

fn gone(id: u32) -> AppError {
    AppError {
        message: format!("console {id} is closed: open a new one from the Restore dialog"),
    }
}

fn unusable() -> AppError {
    AppError {
        message: "the console table is unusable after a crash: restart the app".into(),
    }
}

fn terminal_error(e: impl std::fmt::Display) -> AppError {
    AppError {
        message: format!("cannot use the console's terminal: {e}"),
    }
}

fn size(cols: u16, rows: u16) -> PtySize {
    PtySize {
        rows: rows.max(2),
        cols: cols.max(10),
        pixel_width: 0,
        pixel_height: 0,
    }
}

/// The length of `bytes` without a UTF-8 character cut off at its end (that
/// part waits for the next read).
pub fn complete_utf8_len(bytes: &[u8]) -> usize {
    let n = bytes.len();
    for back in 1..=n.min(4) {
        let b = bytes[n - back];
        if b & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back
        }
        let need = match b {
            0xF0.. => 4,
            0xE0.. => 3,
            0xC0.. => 2,
            _ => 1,
        };
        return if need > back { n - back } else { n };
    }
    n
}

impl Consoles {
    /// Starts `snapline restore SNAPSHOT` in a terminal of `cols` x `rows`;
    /// its output goes to the window as events.
    pub fn open<R: Runtime>(
        &self,
        app: AppHandle<R>,
        store_dir: &Path,
        snapshot: &str,
        cols: u16,
        rows: u16,
    ) -> Answer<u32> {
        let snapshot = resolve(store_dir, snapshot)?;
        let (bin, args) = restore_command(store_dir, &snapshot)?;
        let pair = native_pty_system()
            .openpty(size(cols, rows))
            .map_err(|e| AppError {
                message: format!("cannot open a terminal for the console: {e}"),
            })?;
        let mut cmd = CommandBuilder::new(&bin);
        cmd.args(&args);
        cmd.env("TERM", "xterm-256color");
        if let Ok(dir) = std::env::current_dir() {
            cmd.cwd(dir);
        }
        let mut child = pair.slave.spawn_command(cmd).map_err(|e| AppError {
            message: format!("could not start {}: {e}", bin.display()),
        })?;
        // The child holds the terminal now; ours would keep it open after it exits.
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().map_err(terminal_error)?;
        let writer = pair.master.take_writer().map_err(terminal_error)?;
        let killer = child.clone_killer();
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.open.lock().map_err(|_| unusable())?.insert(
            id,
            Console {
                master: pair.master,
                writer,
                killer,
            },
        );
        std::thread::spawn(move || {
            let mut pending: Vec<u8> = Vec::new();
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                pending.extend_from_slice(&buf[..n]);
                let cut = complete_utf8_len(&pending);
                if cut == 0 {
                    continue;
                }
                let data = String::from_utf8_lossy(&pending[..cut]).into_owned();
                pending.drain(..cut);
                let _ = app.emit("console-output", ConsoleOutput { id, data });
            }
            if !pending.is_empty() {
                let data = String::from_utf8_lossy(&pending).into_owned();
                let _ = app.emit("console-output", ConsoleOutput { id, data });
            }
            let code = child
                .wait()
                .ok()
                .map(|s| i32::try_from(s.exit_code()).unwrap_or(i32::MAX));
            if let Some(consoles) = app.try_state::<Consoles>() {
                if let Ok(mut open) = consoles.open.lock() {
                    open.remove(&id);
                }
            }
            let _ = app.emit("console-exit", ConsoleExit { id, code });
        });
        Ok(id)
    }

    /// Types `data` into console `id`.
    pub fn input(&self, id: u32, data: &str) -> Answer<()> {
        let mut open = self.open.lock().map_err(|_| unusable())?;
        let console = open.get_mut(&id).ok_or_else(|| gone(id))?;
        console
            .writer
            .write_all(data.as_bytes())
            .and_then(|()| console.writer.flush())
            .map_err(|e| AppError {
                message: format!("console {id} takes no input ({e}): its process has ended"),
            })
    }

    /// Tells console `id`'s terminal (and its process) its new size.
    pub fn resize(&self, id: u32, cols: u16, rows: u16) -> Answer<()> {
        let open = self.open.lock().map_err(|_| unusable())?;
        let console = open.get(&id).ok_or_else(|| gone(id))?;
        console
            .master
            .resize(size(cols, rows))
            .map_err(|e| AppError {
                message: format!("cannot resize console {id}: {e}"),
            })
    }

    /// Kills console `id`'s process (its `console-exit` follows). Closing
    /// a console that already ended is not an error.
    pub fn close(&self, id: u32) -> Answer<()> {
        let console = self.open.lock().map_err(|_| unusable())?.remove(&id);
        if let Some(mut console) = console {
            let _ = console.killer.kill();
        }
        Ok(())
    }

    /// Kills every console (the app is quitting).
    pub fn close_all(&self) {
        if let Ok(mut open) = self.open.lock() {
            for (_, mut console) in open.drain() {
                let _ = console.killer.kill();
            }
        }
    }
}

#[tauri::command]
pub async fn console_open<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    consoles: State<'_, Consoles>,
    snapshot: String,
    cols: u16,
    rows: u16,
) -> Answer<u32> {
    consoles.open(app.clone(), &state.store_dir, &snapshot, cols, rows)
}

#[tauri::command]
pub async fn console_input(consoles: State<'_, Consoles>, id: u32, data: String) -> Answer<()> {
    consoles.input(id, &data)
}

#[tauri::command]
pub async fn console_resize(
    consoles: State<'_, Consoles>,
    id: u32,
    cols: u16,
    rows: u16,
) -> Answer<()> {
    consoles.resize(id, cols, rows)
}

#[tauri::command]
pub async fn console_close(consoles: State<'_, Consoles>, id: u32) -> Answer<()> {
    consoles.close(id)
}

#[cfg(test)]
mod tests {
    use super::complete_utf8_len;

    #[test]
    fn a_character_cut_at_the_end_waits_for_the_next_read() {
        let e_acute = "é".as_bytes(); // 2 bytes
        let snake = "🐍".as_bytes(); // 4 bytes
        assert_eq!(complete_utf8_len(b"abc"), 3);
        assert_eq!(complete_utf8_len(&[b'a', e_acute[0]]), 1);
        assert_eq!(complete_utf8_len(&[b'a', e_acute[0], e_acute[1]]), 3);
        assert_eq!(complete_utf8_len(&[b'a', snake[0], snake[1], snake[2]]), 1);
        assert_eq!(complete_utf8_len(snake), 4);
        assert_eq!(complete_utf8_len(&[]), 0);
        // Invalid bytes are not held back (they become U+FFFD).
        assert_eq!(complete_utf8_len(&[b'a', 0x80]), 2);
    }
}
