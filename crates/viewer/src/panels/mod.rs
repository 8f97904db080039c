//! One module per panel of the window; each draws from `ViewerState` and
//! returns what the user asked for (a run, a snapshot to jump to).

pub mod charts;
pub mod diff;
pub mod nan;
pub mod restore;
pub mod runs;
pub mod timeline;
pub mod variables;

/// A number as a panel shows it: 4 significant digits, exponents when far
/// from 1, NaN and infinities spelled.
pub fn number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{x:.3e}")
    } else if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.4}")
    }
}

/// Colours shared by the panels.
pub mod colors {
    use eframe::egui::Color32;

    pub const NAN: Color32 = Color32::from_rgb(214, 48, 49);
    pub const INF: Color32 = Color32::from_rgb(230, 126, 34);
    pub const CHANGED: Color32 = Color32::from_rgb(52, 152, 219);
    pub const CURSOR: Color32 = Color32::from_rgb(241, 196, 15);
    pub const LABEL: Color32 = Color32::from_rgb(155, 89, 182);
}
