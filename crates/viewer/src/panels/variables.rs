//! The variables at the cursor: path, shape, dtype, stats, type, and a mark
//! on what changed since the previous snapshot.

use eframe::egui::{self, RichText};
use egui_extras::Column;
use snapline_query::{ObjectView, Stats};

use crate::panels::{colors, number};
use crate::state::{AtCursor, ViewerState};

/// min / max / mean and the non-finite counts of an object's stats.
pub fn stats_text(stats: &Stats) -> String {
    let mut parts = Vec::new();
    if let (Some(lo), Some(hi)) = (stats.min, stats.max) {
        if lo == hi && stats.count <= 1 {
            parts.push(number(lo));
        } else {
            parts.push(format!("min {} max {}", number(lo), number(hi)));
        }
    }
    if let Some(mean) = stats.mean {
        if stats.count > 1 {
            parts.push(format!("mean {}", number(mean)));
        }
    }
    if stats.nan > 0 {
        parts.push(format!("{} NaN", stats.nan));
    }
    if stats.posinf + stats.neginf > 0 {
        parts.push(format!("{} Inf", stats.posinf + stats.neginf));
    }
    parts.join(" · ")
}

fn shape_text(v: &ObjectView) -> String {
    v.shape
        .as_ref()
        .map(|s| {
            let dims: Vec<String> = s.iter().map(i64::to_string).collect();
            format!("({})", dims.join(", "))
        })
        .unwrap_or_default()
}

/// The path column's width: enough for the longest path, at most this share
/// of the panel (the user may drag it wider, up to `PATH_MOST`).
const PATH_SHARE: f32 = 0.5;
const PATH_MOST: f32 = 0.75;

/// Where a path can be cut: the variable, then each `.name` and `[...]`
/// (a subscript whole, dots and quoted brackets inside it included).
fn path_segments(path: &str) -> Vec<&str> {
    let mut segments = Vec::new();
    let (mut start, mut depth, mut quote) = (0, 0usize, None);
    for (i, c) in path.char_indices() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' if depth > 0 => quote = Some(c),
            '[' => {
                if depth == 0 && i > start {
                    segments.push(&path[start..i]);
                    start = i;
                }
                depth += 1;
            }
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 && i > start => {
                segments.push(&path[start..i]);
                start = i;
            }
            _ => {}
        }
    }
    if start < path.len() {
        segments.push(&path[start..]);
    }
    segments
}

/// Characters of room `elide_path` may leave unused to keep whole segments.
const SEGMENT_SLACK: usize = 8;

/// `…` and the last `max_chars - 1` characters of `text`.
fn keep_end(text: &str, max_chars: usize) -> String {
    if max_chars == 0 {
        return String::new();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::from("…");
    out.extend(&chars[chars.len() - (max_chars - 1)..]);
    out
}

/// `path` in at most `max_chars` characters, cut from the front: its end
/// tells rows of one variable apart (`…[model.2.bias]["exp_avg_sq"]`, where
/// `optimizer.state[…]["exp_avg_sq"]` reads the same on every row), and the
/// rows above it show the variable. Whole segments go first (a subscript
/// or a quoted key is never split) while they fill the room, else
/// characters.
pub fn elide_path(path: &str, max_chars: usize) -> String {
    let length = path.chars().count();
    if length <= max_chars {
        return path.to_string();
    }
    let segments = path_segments(path);
    for skip in 1..segments.len() {
        let rest = segments[skip..].concat();
        let kept = rest.chars().count();
        if kept < max_chars {
            // Whole segments, unless that leaves much of the room empty.
            if kept + 1 + SEGMENT_SLACK >= max_chars {
                return format!("…{rest}");
            }
            break;
        }
    }
    keep_end(path, max_chars)
}

/// What the row's hover and the details say about a change.
fn change_note(changed: bool) -> &'static str {
    if changed {
        "changed since the previous snapshot"
    } else {
        "same as in the previous snapshot"
    }
}

fn value_text(v: &ObjectView) -> String {
    match &v.stats {
        Some(s) if v.shape.is_some() => stats_text(s),
        _ => v.preview.clone(),
    }
}

/// The selected variable in full: its path (long ones are elided in the
/// table), type, shape, dtype, stats or value.
fn details(ui: &mut egui::Ui, v: &ObjectView, changed: bool) {
    egui::Grid::new("variable details")
        .num_columns(2)
        .show(ui, |ui| {
            let rows = [
                ("path", v.path.clone()),
                ("type", v.type_name.clone()),
                ("shape", shape_text(v)),
                ("dtype", v.dtype.clone().unwrap_or_default()),
                ("stats / value", value_text(v)),
            ];
            for (name, text) in rows {
                if text.is_empty() {
                    continue;
                }
                ui.weak(name);
                ui.add(egui::Label::new(RichText::new(text).monospace()).wrap());
                ui.end_row();
            }
            ui.weak("");
            ui.weak(change_note(changed));
            ui.end_row();
        });
}

/// The variables at the cursor; a click on a row selects it (`selected`:
/// its path) and shows it in full below the table.
pub fn show(
    ui: &mut egui::Ui,
    state: &ViewerState,
    changed_only: &mut bool,
    selected: &mut Option<String>,
) {
    let Some(run) = &state.run else {
        ui.weak("No run open.");
        return;
    };
    let Some(at) = &run.at_cursor else {
        ui.weak("No snapshot at the cursor.");
        return;
    };
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} objects at @{}, {} changed since the previous snapshot",
            at.objects.len(),
            at.seq,
            at.changed.len()
        ));
        ui.checkbox(changed_only, "changed only");
    });
    let chosen = selected
        .as_deref()
        .and_then(|p| at.objects.iter().find(|v| v.path == p));
    if let Some(v) = chosen {
        egui::Panel::bottom("variable details")
            .show(ui, |ui| details(ui, v, at.changed.contains(&v.path)));
    }
    let rows: Vec<&ObjectView> = at
        .objects
        .iter()
        .filter(|v| !*changed_only || at.changed.contains(&v.path))
        .collect();
    // The table's own region: its column lines stop above the details.
    let region = egui::UiBuilder::new().max_rect(ui.available_rect_before_wrap());
    let clicked = ui
        .scope_builder(region, |ui| table(ui, at, &rows, selected.as_deref()))
        .inner;
    if let Some(path) = clicked {
        // A second click on the selected row unselects it.
        *selected = (selected.as_deref() != Some(path.as_str())).then_some(path);
    }
}

/// The table: path (elided to its column, resizable), shape, dtype, stats
/// or value (the rest of the width), type. Returns the path clicked. The
/// columns' widest widths leave the stats at least 40 points of a panel
/// over 520 wide, so the table fits the panel rather than widening it.
fn table(
    ui: &mut egui::Ui,
    at: &AtCursor,
    rows: &[&ObjectView],
    selected: Option<&str>,
) -> Option<String> {
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let char_width = ui.fonts_mut(|f| f.glyph_width(&font, 'm')).max(1.0);
    let padding = 2.0 * ui.spacing().button_padding.x + 2.0;
    let longest = at.objects.iter().map(|v| v.path.chars().count()).max();
    let fit = longest.unwrap_or(4).max(4) as f32 * char_width + padding;
    let panel = ui.available_width();
    let row_height = ui.spacing().interact_size.y;
    let mut clicked = None;
    egui_extras::TableBuilder::new(ui)
        .id_salt("variables")
        .striped(true)
        .auto_shrink([false, false])
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(
            Column::initial(fit.min(panel * PATH_SHARE))
                .range(80.0..=(panel * PATH_MOST).max(80.0))
                .resizable(true)
                .clip(true),
        )
        .column(Column::auto().at_most(panel * 0.15).clip(true))
        .column(Column::auto().at_most(60.0).clip(true))
        .column(Column::remainder().at_least(40.0).clip(true))
        .column(Column::auto().at_most(panel * 0.18).clip(true))
        .header(row_height, |mut header| {
            for h in ["path", "shape", "dtype", "stats / value", "type"] {
                header.col(|ui| {
                    ui.strong(h);
                });
            }
        })
        .body(|body| {
            body.rows(row_height, rows.len(), |mut row| {
                let v = rows[row.index()];
                let changed = at.changed.contains(&v.path);
                let is_selected = selected == Some(v.path.as_str());
                row.set_selected(is_selected);
                row.col(|ui| {
                    let room = ((ui.available_width() - padding) / char_width).floor();
                    let mut text =
                        RichText::new(elide_path(&v.path, room.max(1.0) as usize)).monospace();
                    if changed {
                        text = text.color(colors::CHANGED).strong();
                    }
                    let response = ui
                        .selectable_label(is_selected, text)
                        .on_hover_text(format!("{}\n{}", v.path, change_note(changed)));
                    if response.clicked() {
                        clicked = Some(v.path.clone());
                    }
                });
                let bad = v
                    .stats
                    .as_ref()
                    .is_some_and(|s| s.nan + s.posinf + s.neginf > 0);
                let mut value = RichText::new(value_text(v));
                if bad {
                    value = value.color(colors::NAN);
                }
                let cells = [
                    RichText::new(shape_text(v)),
                    RichText::new(v.dtype.as_deref().unwrap_or("")),
                    value,
                    RichText::new(&v.type_name),
                ];
                for text in cells {
                    // Truncated to the column; the whole text on hover.
                    row.col(|ui| {
                        ui.add(egui::Label::new(text).truncate());
                    });
                }
            });
        });
    clicked
}

#[cfg(test)]
mod tests {
    use super::elide_path;

    const ADAM: &str = "optimizer.state[model.0.weight][\"exp_avg_sq\"]";

    #[test]
    fn short_paths_are_kept() {
        assert_eq!(elide_path("model.w", 40), "model.w");
        assert_eq!(elide_path(ADAM, 45), ADAM);
    }

    #[test]
    fn whole_segments_go_from_the_front_keeping_what_tells_rows_apart() {
        assert_eq!(
            elide_path(ADAM, 40),
            "….state[model.0.weight][\"exp_avg_sq\"]"
        );
        let bert = "model.encoder.layer.0.attention.self.query.weight";
        assert_eq!(elide_path(bert, 30), "….attention.self.query.weight");
        assert!(elide_path(bert, 30).chars().count() <= 30);
    }

    #[test]
    fn then_characters_from_the_front_where_whole_segments_waste_the_room() {
        assert_eq!(elide_path(ADAM, 30), "…model.0.weight][\"exp_avg_sq\"]");
        assert_eq!(elide_path(ADAM, 20), "…[\"exp_avg_sq\"]");
        let name = "a_variable_with_a_very_long_name";
        assert_eq!(elide_path(name, 10), "…long_name");
        assert_eq!(elide_path(name, 1), "…");
        assert_eq!(elide_path(name, 0), "");
    }

    #[test]
    fn brackets_inside_quoted_keys_do_not_split() {
        let path = "history[\"a].b[\"][\"loss\"]";
        assert_eq!(elide_path(path, 18), "…[\"a].b[\"][\"loss\"]");
        assert_eq!(elide_path(path, 12), "…[\"loss\"]");
    }
}
