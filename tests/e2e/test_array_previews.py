"""Array previews are rendered when shown, from the stored chunks (issue
#16: formatting them at capture was a third of a snapshot's time)."""

from __future__ import annotations

import json
import sqlite3

SCRIPT = """
    import numpy as np

    cube = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    counts = np.array([1, 2, 3], dtype=np.int64)
    fortran = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    mask = np.array([True, False])
    scale = np.array(3.5)
    ramp = np.linspace(0.0, 1.0, 1_000_000)
    ramp[-1] = np.nan
    print(ramp.shape)
"""


def test_previews_come_from_the_stored_data(sl):
    done = sl.capture(SCRIPT)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(sl.store / "catalog.sqlite") as conn:
        stored = [json.loads(r[0]) for r in conn.execute("SELECT record FROM objects")]
    assert all(not r.get("preview") for r in stored if r["kind"] == "array")
    objects = sl.objects("last@last")
    assert objects["counts"]["preview"] == "[1 2 3]"
    assert objects["mask"]["preview"] == "[True False]"
    assert objects["scale"]["preview"] == "3.5"
    # Rows of an F-order array read in C order, as numpy prints them.
    assert objects["fortran"]["preview"] == "[[0. 1. 2. 3.]\n [4. 5. 6. 7.]\n [8. 9. 10. 11.]]"
    assert objects["cube"]["preview"].startswith("[[[0. 0.1429 0.2857 0.4286]\n  [0.5714")
    # A long array: its edges only (the last chunk read for the tail).
    assert objects["ramp"]["preview"] == "[0. 1.e-06 ... 1. nan]"
    assert sl.show("last@last", "ramp")["preview"] == objects["ramp"]["preview"]
