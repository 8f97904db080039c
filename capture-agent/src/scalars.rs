//! `ScalarTracker`: the scalar variables of instrumented loops as metric
//! points at every iteration, not only when a snapshot is taken.
//!
//! The agent calls `track` at each iteration boundary with the frame's
//! namespace. For each name the loop assigns, a number that differs from the
//! series' last point becomes a point; points are sent to the writer in
//! batches. Everything here runs under the GIL in a few hundred nanoseconds
//! a loop, so it stays cheap enough for every iteration.

use std::collections::HashMap;

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString, PyType};
use snapline_store::MetricPoint;

use crate::recorder::Recorder;

/// Points buffered before they go to the writer.
const BATCH: usize = 1024;

/// One watched variable of a loop.
struct Slot {
    name: Py<PyString>,
    /// Index of its series in `ScalarTracker::series`.
    series: usize,
}

/// A series the tracker has seen: its name and last value.
struct SeriesState {
    /// The series name (`train:loss`, or `loss` at module level).
    key: String,
    last: Option<f64>,
    /// The program logs it itself (`snapline.log`): never read here.
    muted: bool,
}

/// A buffered point, named by series index until it is sent.
struct Pending {
    series: usize,
    step: f64,
    value: f64,
    time: f64,
    epoch: Option<i64>,
}

/// Records changing scalar variables of loops as metric points.
#[pyclass(module = "snapline._native")]
pub struct ScalarTracker {
    recorder: Py<Recorder>,
    loops: HashMap<i64, Vec<Slot>>,
    /// Every series by index, and its index by name. The last values are
    /// shared with the snapshot path, so a value is one point however it
    /// was seen.
    series: Vec<SeriesState>,
    index: HashMap<String, usize>,
    points: Vec<Pending>,
    /// Scalar types besides int and float (numpy's), by identity.
    scalar_types: Vec<Py<PyType>>,
    /// `torch.Tensor`, once the program imported torch: 0-d CPU tensors count.
    tensor_type: Option<Py<PyType>>,
}

/// Same value, NaN equal to NaN.
fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl ScalarTracker {
    fn number(&self, value: &Bound<'_, PyAny>) -> Option<f64> {
        if let Ok(f) = value.cast_exact::<PyFloat>() {
            return Some(f.value());
        }
        if value.is_exact_instance_of::<PyInt>() {
            return value.extract::<f64>().ok();
        }
        if value.is_instance_of::<PyBool>() {
            return None;
        }
        let ty = value.get_type();
        if self.scalar_types.iter().any(|t| ty.is(t.bind(value.py()))) {
            return value.extract::<f64>().ok();
        }
        let tensor = self.tensor_type.as_ref()?;
        if !ty.is(tensor.bind(value.py())) {
            return None;
        }
        // A 0-d tensor on the CPU: reading a GPU one would wait for the device.
        let dims: usize = value.getattr("ndim").ok()?.extract().ok()?;
        let cpu: bool = !value.getattr("is_cuda").ok()?.extract::<bool>().ok()?;
        if dims != 0 || !cpu {
            return None;
        }
        // `item()`, not `float()`: float() of a tensor that requires grad
        // warns on the program's stderr.
        value.call_method0("item").ok()?.extract::<f64>().ok()
    }

    fn series_index(&mut self, key: &str) -> usize {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        self.series.push(SeriesState {
            key: key.to_owned(),
            last: None,
            muted: false,
        });
        self.index.insert(key.to_owned(), self.series.len() - 1);
        self.series.len() - 1
    }

    fn send(&mut self, py: Python<'_>) -> PyResult<()> {
        if self.points.is_empty() {
            return Ok(());
        }
        let points = std::mem::take(&mut self.points)
            .into_iter()
            .map(|p| MetricPoint {
                name: self.series[p.series].key.clone(),
                step: p.step,
                value: p.value,
                time: p.time,
                seq: None,
                epoch: p.epoch,
            })
            .collect();
        self.recorder.bind(py).borrow().send_metrics(points)
    }
}

#[pymethods]
impl ScalarTracker {
    #[new]
    fn new(recorder: Py<Recorder>) -> Self {
        ScalarTracker {
            recorder,
            loops: HashMap::new(),
            series: Vec::new(),
            index: HashMap::new(),
            points: Vec::new(),
            scalar_types: Vec::new(),
            tensor_type: None,
        }
    }

    /// Sets the scalar types the program can now hold (numpy's scalar
    /// types; `tensor`: torch.Tensor).
    #[pyo3(signature = (scalar_types, tensor = None))]
    fn set_types(&mut self, scalar_types: Vec<Py<PyType>>, tensor: Option<Py<PyType>>) {
        self.scalar_types = scalar_types;
        self.tensor_type = tensor;
    }

    /// Whether loop `loop_id` is watched already.
    fn watching(&self, loop_id: i64) -> bool {
        self.loops.contains_key(&loop_id)
    }

    /// Watches `names` of loop `loop_id`; series are named `prefix + name`.
    fn watch(&mut self, py: Python<'_>, loop_id: i64, names: Vec<String>, prefix: &str) {
        let mut slots = Vec::new();
        for name in names {
            let series = self.series_index(&format!("{prefix}{name}"));
            if !self.series[series].muted {
                slots.push(Slot {
                    name: PyString::new(py, &name).unbind(),
                    series,
                });
            }
        }
        self.loops.insert(loop_id, slots);
    }

    /// Reads the watched names of `loop_id` in `namespace` (a dict, or a
    /// frame's locals mapping) and buffers a point, at `step`, for each
    /// number that changed.
    #[pyo3(signature = (loop_id, namespace, step, epoch))]
    fn track(
        &mut self,
        py: Python<'_>,
        loop_id: i64,
        namespace: &Bound<'_, PyAny>,
        step: f64,
        epoch: Option<i64>,
    ) -> PyResult<()> {
        let Some(slots) = self.loops.get(&loop_id) else {
            return Ok(());
        };
        let dict = namespace.cast::<PyDict>().ok();
        let mut time = None;
        for slot in slots {
            let name = slot.name.bind(py);
            let value = match dict {
                Some(d) => d.get_item(name)?,
                None => namespace.get_item(name).ok(),
            };
            let Some(number) = value.and_then(|v| self.number(&v)) else {
                continue;
            };
            let state = &mut self.series[slot.series];
            if state.last.is_some_and(|last| same(last, number)) {
                continue;
            }
            state.last = Some(number);
            let time = *time.get_or_insert_with(now);
            self.points.push(Pending {
                series: slot.series,
                step,
                value: number,
                time,
                epoch,
            });
        }
        if self.points.len() >= BATCH {
            self.send(py)?;
        }
        Ok(())
    }

    /// Stops reading series `key`: the program logs it itself, and its
    /// points are the ones it logs.
    fn mute(&mut self, key: &str) {
        let series = self.series_index(key);
        self.series[series].muted = true;
        for slots in self.loops.values_mut() {
            slots.retain(|slot| slot.series != series);
        }
    }

    /// Whether `value` is new for series `key` (and remembers it): the
    /// snapshot path asks before it adds a point.
    fn changed(&mut self, key: &str, value: f64) -> bool {
        let series = self.series_index(key);
        let state = &mut self.series[series];
        if state.last.is_some_and(|last| same(last, value)) {
            return false;
        }
        state.last = Some(value);
        true
    }

    /// Sends the buffered points to the writer.
    fn flush(&mut self, py: Python<'_>) -> PyResult<()> {
        self.send(py)
            .map_err(|e| PyOSError::new_err(format!("metric points not sent: {e}")))
    }

    /// Points waiting in the buffer.
    fn pending(&self) -> usize {
        self.points.len()
    }
}
