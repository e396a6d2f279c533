"""docs/examples/native_client.py (a raw-websocket client, no Socket.IO library) works."""

from __future__ import annotations

import importlib.util
import math
from types import ModuleType

from tests.conftest import ROOT, AppServer, Visitor, eventually
from world.core.interest import decode_records


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("native_client", ROOT / "docs/examples/native_client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_native_example_joins_walks_and_sees_another_avatar(server: AppServer, visitors: list[Visitor]) -> None:
    ada = Visitor("Ada")
    visitors.append(ada)
    await ada.connect(server.url)
    await ada.join("showroom")
    summary = await example().run(server.url, "showroom", 1.5, name="Nativa", quiet=True)
    assert summary["joined"] and isinstance(summary["id"], int) and summary["session"]
    assert summary["seen"].get(str(ada.welcome["id"])) == "Ada"  # type: ignore[index]
    assert summary["ticks"] >= 1 and summary["corrections"] == 0
    assert abs(summary["clock_offset_ms"]) < 50  # same machine: the clocks agree

    def walked() -> bool:  # Ada saw the native visitor enter and move
        xs = {int(r["x"]) for t in ada.ticks for r in decode_records(t["pos"]) if r["id"] == summary["id"]}
        return len(xs) >= 3

    await eventually(walked)


def test_pose_decoding_in_the_example_matches_the_server() -> None:
    import numpy as np

    from world.core.pose import check_pose, encode_quats, quantize_parts

    flags, values = check_pose({"head": [0.1, 1.6, -0.2, 0, math.sqrt(0.5), 0, math.sqrt(0.5)]})
    part = quantize_parts(values[None])[0][:10].tobytes()
    rec = example().decode_poses((7).to_bytes(4, "little") + bytes([flags]) + part)[7]
    assert rec["flags"] == 1 and rec["head"][:3] == (0.1, 1.6, -0.2)
    q = np.array(rec["head"][3:])
    assert abs(abs(float(q @ values[0, 3:])) - 1) < 1e-5
    assert encode_quats(values[:1, 3:])[0] == int.from_bytes(part[6:10], "little")
