use std::path::Path;

use snapline_query::{list_series, metric_series};

use crate::commands::{open_store, print_json};
use crate::format;

pub fn metrics(store: &Path, run: &str, names: &[String], json: bool) -> anyhow::Result<()> {
    let store = open_store(store)?;
    let run = store.resolve_run(run)?;
    if names.is_empty() {
        let all = list_series(&store, &run)?;
        if json {
            let series = all
                .iter()
                .map(|s| metric_series(&store, &run, &s.name))
                .collect::<Result<Vec<_>, _>>()?;
            return print_json(&series);
        }
        if all.is_empty() {
            println!("run {run} has no metric series yet");
            return Ok(());
        }
        let rows: Vec<Vec<String>> = all
            .iter()
            .map(|s| vec![s.name.clone(), s.points.to_string()])
            .collect();
        format::table(&["SERIES", "POINTS"], &rows);
        return Ok(());
    }
    let series = names
        .iter()
        .map(|n| metric_series(&store, &run, n))
        .collect::<Result<Vec<_>, _>>()?;
    if json {
        return print_json(&series);
    }
    for s in &series {
        println!("{} (run {})", s.name, s.run);
        let rows: Vec<Vec<String>> = s
            .points
            .iter()
            .map(|p| {
                vec![
                    format::number(p.step),
                    p.epoch.map(|e| e.to_string()).unwrap_or_default(),
                    p.seq.map(|e| e.to_string()).unwrap_or_else(|| "log".into()),
                    format::number(p.value),
                ]
            })
            .collect();
        format::table(&["STEP", "EPOCH", "SNAPSHOT", "VALUE"], &rows);
    }
    Ok(())
}
