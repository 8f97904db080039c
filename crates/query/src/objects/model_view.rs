//! State that reads like a model: the variables of a snapshot ordered by
//! what matters to someone training one, a torch module as its layer tree
//! with parameter counts, and an optimizer's state under the parameter it
//! belongs to. Read from the stored records (a module's `_modules` and
//! `_parameters` children, which the agent marks in `extra.slots`; an
//! optimizer's `state[...]` children and `param_groups`); nothing is
//! unpickled.

use std::collections::HashMap;

use serde::Serialize;
use snapline_store::{ObjectKind, ObjectRecord, Store};

use super::{root_of, ObjectView};
use crate::error::{QueryError, QueryResult};
use crate::reference::SnapshotRef;

/// What a variable is, in the order a variables list shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum VariableCategory {
    /// A torch module (a model, a layer, a loss function).
    Model,
    /// A torch optimizer or learning-rate scheduler.
    Optimizer,
    /// A tensor or array.
    Tensor,
    /// Data: DataFrames, datasets and data loaders, lists and dicts.
    Data,
    /// Everything else: numbers, strings, configs, other objects.
    Other,
    /// Imported modules, classes, functions, argparse parsers.
    Code,
}

/// The category of a shown object, from its type and kind.
pub fn variable_category(v: &ObjectView) -> VariableCategory {
    let t = v.type_name.as_str();
    let short = t.rsplit('.').next().unwrap_or(t);
    let is = |key: &str| v.extra.get(key).and_then(|x| x.as_bool()) == Some(true);
    if is("torch_module") || t.starts_with("torch.nn.modules.") {
        return VariableCategory::Model;
    }
    if is("torch_optimizer")
        || t.starts_with("torch.optim.")
        || short.ends_with("Optimizer")
        || short.ends_with("LR")
        || short.ends_with("Scheduler")
    {
        return VariableCategory::Optimizer;
    }
    if v.kind == ObjectKind::Array {
        return VariableCategory::Tensor;
    }
    if v.kind == ObjectKind::Reference
        || t == "module"
        || t == "type"
        || t == "function"
        || t == "builtin_function_or_method"
        || (t.starts_with("argparse.") && t != "argparse.Namespace")
    {
        return VariableCategory::Code;
    }
    if t.starts_with("pandas.")
        || short.ends_with("Dataset")
        || short.ends_with("DataLoader")
        || short.ends_with("Loader")
        || (v.kind == ObjectKind::Container || v.kind == ObjectKind::Value)
            && matches!(t, "list" | "dict" | "tuple" | "set" | "collections.deque")
    {
        return VariableCategory::Data;
    }
    VariableCategory::Other
}

/// The category of each object's variable (a nested array counts as its
/// variable's: `model.fc1.weight` is part of a model), parallel to `objects`.
pub fn variable_categories(objects: &[ObjectView]) -> Vec<VariableCategory> {
    let roots: HashMap<&str, VariableCategory> = objects
        .iter()
        .filter(|o| root_of(&o.path) == o.path)
        .map(|o| (o.path.as_str(), variable_category(o)))
        .collect();
    objects
        .iter()
        .map(|o| {
            roots
                .get(root_of(&o.path))
                .copied()
                .unwrap_or_else(|| variable_category(o))
        })
        .collect()
}

/// Orders a snapshot's objects by category of their variable (models,
/// optimizers, tensors, data, the rest, code last), keeping each variable's
/// nested arrays right after it and the capture order within a category.
pub fn order_by_importance(objects: Vec<ObjectView>) -> Vec<ObjectView> {
    let mut category_of_root: HashMap<String, VariableCategory> = HashMap::new();
    let mut first_index: HashMap<String, usize> = HashMap::new();
    for (i, o) in objects.iter().enumerate() {
        let root = root_of(&o.path).to_owned();
        if root == o.path {
            category_of_root.insert(root.clone(), variable_category(o));
        }
        first_index.entry(root).or_insert(i);
    }
    let mut keyed: Vec<(VariableCategory, usize, usize, ObjectView)> = objects
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            let root = root_of(&o.path);
            let cat = category_of_root
                .get(root)
                .copied()
                .unwrap_or_else(|| variable_category(&o));
            let first = first_index.get(root).copied().unwrap_or(i);
            (cat, first, i, o)
        })
        .collect();
    keyed.sort_by_key(|(cat, first, i, _)| (*cat, *first, *i));
    keyed.into_iter().map(|(_, _, _, o)| o).collect()
}

/// One layer of a module's tree.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LayerNode {
    /// The submodule's name in its parent (`0`, `fc1`); the variable's name at the root.
    pub name: String,
    /// Its path in the snapshot (`model.fc1`), for `object_detail`.
    pub path: String,
    /// The module's class (`torch.nn.modules.linear.Linear`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Its own parameters (not its submodules'): name, shape, elements.
    pub parameters: Vec<ParameterInfo>,
    /// Elements of its own parameters.
    pub own_params: u64,
    /// Elements of its parameters and of every submodule's.
    pub total_params: u64,
    pub children: Vec<LayerNode>,
}

/// A parameter of a layer.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ParameterInfo {
    pub name: String,
    pub path: String,
    pub shape: Vec<i64>,
    pub dtype: Option<String>,
    pub numel: u64,
    /// From the tensor's `requires_grad` when the agent recorded it.
    pub trainable: Option<bool>,
}

/// An optimizer's per-parameter state, one group per parameter.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OptimizerView {
    pub path: String,
    #[serde(rename = "type")]
    pub type_name: String,
    /// Each parameter the optimizer holds state for.
    pub parameters: Vec<ParameterState>,
}

/// The state an optimizer keeps for one parameter (`exp_avg`, `step`...).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ParameterState {
    /// The parameter's path in the model (`model.fc1.weight`) when the
    /// optimizer's parameter is one of the captured model's; else the
    /// optimizer's own key (`#0`).
    pub parameter: String,
    /// The param group it is in, and its index there (when known).
    pub group: Option<i64>,
    /// Paths of the state entries (`optimizer.state[model.fc1.weight]["exp_avg"]`).
    pub entries: Vec<String>,
}

/// What `model_view` returns: a layer tree or an optimizer's state by parameter.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelView {
    Module { tree: LayerNode },
    Optimizer { optimizer: OptimizerView },
}

fn numel(shape: &[i64]) -> u64 {
    shape.iter().map(|&d| d.max(0) as u64).product()
}

fn module_tree(
    store: &Store,
    name: &str,
    path: &str,
    record: &ObjectRecord,
    depth: usize,
) -> QueryResult<LayerNode> {
    let slots = record.extra.get("slots").and_then(|s| s.as_object());
    let slot_of = |key: &str| slots.and_then(|s| s.get(key)).and_then(|v| v.as_str());
    let mut node = LayerNode {
        name: name.to_owned(),
        path: path.to_owned(),
        type_name: record.type_name.clone(),
        parameters: Vec::new(),
        own_params: 0,
        total_params: 0,
        children: Vec::new(),
    };
    for child in &record.children {
        let Some(key) = child.key.as_str() else {
            continue;
        };
        let Some(hash) = &child.hash else { continue };
        let child_path = format!("{path}.{key}");
        match slot_of(key) {
            Some("_parameters") => {
                let r = store.object(hash)?;
                let shape = r.shape.clone().unwrap_or_default();
                let n = numel(&shape);
                node.own_params += n;
                node.parameters.push(ParameterInfo {
                    name: key.to_owned(),
                    path: child_path,
                    dtype: r.dtype.clone(),
                    numel: n,
                    trainable: r.extra.get("requires_grad").and_then(|v| v.as_bool()),
                    shape,
                });
            }
            Some("_modules") if depth < 64 => {
                let r = store.object(hash)?;
                if r.extra.contains_key("torch_module") {
                    node.children
                        .push(module_tree(store, key, &child_path, &r, depth + 1)?);
                }
            }
            _ => {}
        }
    }
    // A parameter shared by two layers counts once per layer here (as
    // printing the model does); the root's total is of distinct tensors only
    // when nothing is shared.
    node.total_params = node.own_params + node.children.iter().map(|c| c.total_params).sum::<u64>();
    Ok(node)
}

/// A module's layer tree, or an optimizer's state by parameter, at `path`
/// of a snapshot.
pub fn model_view(store: &Store, snap: &SnapshotRef, path: &str) -> QueryResult<ModelView> {
    let entries = store.entries(&snap.run, snap.seq)?;
    let entry = entries
        .iter()
        .find(|e| e.path == path)
        .ok_or_else(|| QueryError::UnknownPath {
            path: path.to_owned(),
            snapshot: snap.to_string(),
        })?;
    let record = store.object(&entry.hash)?;
    let flag = |key: &str| record.extra.get(key).and_then(|v| v.as_bool()) == Some(true);
    if flag("torch_module") {
        let name = path.rsplit(['.', ':']).next().unwrap_or(path);
        return Ok(ModelView::Module {
            tree: module_tree(store, name, path, &record, 0)?,
        });
    }
    if flag("torch_optimizer") {
        // Which model parameter each node is (the first path reaching it
        // that is not inside an optimizer).
        let mut param_of_node: HashMap<i64, &str> = HashMap::new();
        for e in &entries {
            if !e.path.starts_with(path) && !e.path.contains(".state[") {
                param_of_node.entry(e.node).or_insert(&e.path);
            }
        }
        let node_of: HashMap<&str, i64> =
            entries.iter().map(|e| (e.path.as_str(), e.node)).collect();
        let state_keys: Vec<(i64, i64)> = record
            .extra
            .get("state_keys")
            .and_then(|k| k.as_array())
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| Some((k.get(0)?.as_i64()?, k.get(1)?.as_i64()?)))
                    .collect()
            })
            .unwrap_or_default();
        let mut parameters: Vec<ParameterState> = Vec::new();
        let prefix = format!("{path}.state[");
        let mut index = 0;
        for child in &record.children {
            let Some(key) = child.key.as_str() else {
                continue;
            };
            let Some(inner) = key
                .strip_prefix(".state[")
                .and_then(|k| k.strip_suffix(']'))
            else {
                continue;
            };
            let group = state_keys.get(index).copied();
            index += 1;
            // `.state[model.fc1.weight]`: the agent named it by the model's path.
            let parameter = if inner.starts_with('#') {
                group
                    .and_then(|(g, i)| {
                        node_of.get(format!("{path}.param_groups[{g}][\"params\"][{i}]").as_str())
                    })
                    .and_then(|n| param_of_node.get(n))
                    .map_or_else(|| inner.to_owned(), |p| (*p).to_owned())
            } else {
                inner.to_owned()
            };
            let state_path = format!("{prefix}{inner}]");
            let mut entries_of: Vec<String> = entries
                .iter()
                .filter(|e| e.path.starts_with(&state_path) && e.path.len() > state_path.len())
                .map(|e| e.path.clone())
                .collect();
            if entries_of.is_empty() {
                // Plain values (a step count) live inside the state dict's record.
                if let Some(hash) = &child.hash {
                    let r = store.object(hash)?;
                    entries_of = r
                        .children
                        .iter()
                        .map(|c| format!("{state_path}{}", super::child_suffix(&r, &c.key)))
                        .collect();
                }
            }
            entries_of.sort();
            entries_of.dedup();
            parameters.push(ParameterState {
                parameter,
                group: group.map(|(g, _)| g),
                entries: entries_of,
            });
        }
        return Ok(ModelView::Optimizer {
            optimizer: OptimizerView {
                path: path.to_owned(),
                type_name: record.type_name.clone(),
                parameters,
            },
        });
    }
    Err(QueryError::InvalidView(format!(
        "'{path}' in {snap} is a {}, not a torch module or optimizer: show it with `snapline show {snap} '{path}'`",
        record.type_name
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use snapline_store::{EntryRow, RunInfo, SnapshotCommit, SnapshotMeta, Trigger};

    fn record(v: serde_json::Value) -> ObjectRecord {
        serde_json::from_value(v).unwrap()
    }

    fn tensor(shape: &[i64]) -> ObjectRecord {
        record(
            json!({"kind": "array", "type": "torch.nn.Parameter", "shape": shape,
                      "dtype": "float32", "restorable": true,
                      "extra": {"requires_grad": true}}),
        )
    }

    /// model = Sequential(Linear(4, 8), ReLU(), Linear(8, 1)) and an Adam
    /// whose state is keyed by the model's parameters.
    fn store_with_a_model() -> (tempfile::TempDir, Store, SnapshotRef) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(dir.path()).unwrap();
        let run = store
            .begin_run(&RunInfo {
                script: "train.py".into(),
                started_at: 0.0,
                lineage: json!({}),
                parent_run: None,
                parent_seq: None,
            })
            .unwrap();
        let linear = |w: &str, b: &str| {
            record(
                json!({"kind": "instance", "type": "torch.nn.modules.linear.Linear",
                "restorable": true,
                "children": [{"key": "training", "value": true},
                             {"key": "weight", "hash": w}, {"key": "bias", "hash": b}],
                "extra": {"torch_module": true,
                          "slots": {"weight": "_parameters", "bias": "_parameters"}}}),
            )
        };
        let objects = vec![
            ("w0".to_owned(), tensor(&[8, 4])),
            ("b0".to_owned(), tensor(&[8])),
            ("w2".to_owned(), tensor(&[1, 8])),
            ("b2".to_owned(), tensor(&[1])),
            ("l0".to_owned(), linear("w0", "b0")),
            ("l2".to_owned(), linear("w2", "b2")),
            (
                "relu".to_owned(),
                record(json!({"kind": "instance",
                "type": "torch.nn.modules.activation.ReLU", "restorable": true,
                "extra": {"torch_module": true, "slots": {}}})),
            ),
            (
                "seq".to_owned(),
                record(json!({"kind": "instance",
                "type": "torch.nn.modules.container.Sequential", "restorable": true,
                "children": [{"key": "0", "hash": "l0"}, {"key": "1", "hash": "relu"},
                             {"key": "2", "hash": "l2"}],
                "extra": {"torch_module": true,
                          "slots": {"0": "_modules", "1": "_modules", "2": "_modules"}}})),
            ),
            (
                "avg".to_owned(),
                record(json!({"kind": "array", "type": "torch.Tensor",
                "shape": [8, 4], "restorable": true})),
            ),
            (
                "st0".to_owned(),
                record(json!({"kind": "container", "type": "dict",
                "restorable": true,
                "children": [{"key": "step", "value": 3}, {"key": "exp_avg", "hash": "avg"}]})),
            ),
            (
                "opt".to_owned(),
                record(json!({"kind": "instance",
                "type": "torch.optim.adam.Adam", "restorable": true,
                "children": [{"key": ".state[model.0.weight]", "hash": "st0"},
                             {"key": ".state[#1]", "hash": "st0"}],
                "extra": {"torch_optimizer": true, "state_keys": [[0, 0], [0, 3]]}})),
            ),
            (
                "cls".to_owned(),
                record(json!({"kind": "reference", "type": "type",
                "restorable": true})),
            ),
            (
                "df".to_owned(),
                record(json!({"kind": "pickle",
                "type": "pandas.core.frame.DataFrame", "restorable": true})),
            ),
            (
                "n".to_owned(),
                record(json!({"kind": "value", "type": "int",
                "value": 3, "restorable": true})),
            ),
            (
                "x".to_owned(),
                record(json!({"kind": "array", "type": "numpy.ndarray",
                "shape": [2], "restorable": true})),
            ),
        ];
        let entry = |path: &str, node: i64, hash: &str| EntryRow {
            path: path.into(),
            node,
            hash: hash.into(),
        };
        let entries = vec![
            entry("Config", 1, "cls"),
            entry("epochs", 2, "n"),
            entry("frame", 3, "df"),
            entry("x", 4, "x"),
            entry("optimizer", 5, "opt"),
            entry("optimizer.state[model.0.weight][\"exp_avg\"]", 6, "avg"),
            entry("optimizer.param_groups[0][\"params\"][3]", 7, "b2"),
            entry("model", 8, "seq"),
            entry("model.0.weight", 9, "w0"),
            entry("model.2.bias", 7, "b2"),
        ];
        store
            .commit_snapshot(&SnapshotCommit {
                run_id: run.clone(),
                meta: SnapshotMeta {
                    seq: 0,
                    trigger: Trigger::Iteration,
                    file: None,
                    line: None,
                    loops: vec![],
                    label: None,
                    time: 1.0,
                    capture_ms: 0.0,
                    bytes_new: 0,
                    bytes_reused: 0,
                    objects: 0,
                    nonfinite: 0,
                    position: None,
                },
                chunks: vec![],
                objects,
                entries,
                metrics: vec![],
            })
            .unwrap();
        (dir, store, SnapshotRef { run, seq: 0 })
    }

    #[test]
    fn variables_come_by_what_matters() {
        let (_dir, store, snap) = store_with_a_model();
        let shown = crate::objects::show_snapshot(&store, &snap, false).unwrap();
        let ordered = order_by_importance(shown);
        let paths: Vec<&str> = ordered.iter().map(|o| o.path.as_str()).collect();
        let at = |p: &str| paths.iter().position(|x| *x == p).unwrap();
        assert!(at("model") < at("optimizer"), "{paths:?}");
        // A variable's nested arrays stay right after it.
        assert_eq!(at("model.0.weight"), at("model") + 1, "{paths:?}");
        assert!(
            at("optimizer") < at("x") && at("x") < at("frame"),
            "{paths:?}"
        );
        assert!(
            at("frame") < at("epochs") && at("epochs") < at("Config"),
            "{paths:?}"
        );
        let categories = variable_categories(&ordered);
        assert!(categories.is_sorted(), "{categories:?}");
        assert_eq!(categories[at("model.0.weight")], VariableCategory::Model);
    }

    #[test]
    fn a_module_reads_as_its_layer_tree() {
        let (_dir, store, snap) = store_with_a_model();
        let ModelView::Module { tree } = model_view(&store, &snap, "model").unwrap() else {
            panic!("not a module");
        };
        assert_eq!(tree.total_params, 8 * 4 + 8 + 8 + 1);
        assert_eq!(tree.own_params, 0);
        let names: Vec<&str> = tree.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["0", "1", "2"]);
        let first = &tree.children[0];
        assert_eq!((first.own_params, first.path.as_str()), (40, "model.0"));
        assert_eq!(first.parameters[0].name, "weight");
        assert_eq!(first.parameters[0].shape, vec![8, 4]);
        assert_eq!(first.parameters[0].trainable, Some(true));
        assert_eq!(tree.children[1].total_params, 0);
    }

    #[test]
    fn optimizer_state_sits_under_its_parameter() {
        let (_dir, store, snap) = store_with_a_model();
        let ModelView::Optimizer { optimizer } = model_view(&store, &snap, "optimizer").unwrap()
        else {
            panic!("not an optimizer");
        };
        let params: Vec<&str> = optimizer
            .parameters
            .iter()
            .map(|p| p.parameter.as_str())
            .collect();
        // Named by the agent, and found through param_groups for `#1`.
        assert_eq!(params, ["model.0.weight", "model.2.bias"]);
        assert_eq!(
            optimizer.parameters[0].entries,
            vec!["optimizer.state[model.0.weight][\"exp_avg\"]".to_owned()]
        );
        let err = model_view(&store, &snap, "epochs").unwrap_err().to_string();
        assert!(err.contains("not a torch module or optimizer"), "{err}");
    }
}
