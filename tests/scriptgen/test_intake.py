"""The drop folder: good files become requests once; bad ones are quarantined with the reason."""

from __future__ import annotations

import json

import sqlalchemy as sa

from meta_agent.scriptgen import intake
from meta_agent.scriptgen import repository as repo
from meta_agent.store import quarantine
from meta_agent.store.engine import engine_for


def test_drop_folder_accepts_txt_and_json_and_rejects_the_rest_with_reasons(ops_env, tmp_path):
    engine = engine_for(ops_env)
    folder = tmp_path / "requests"
    folder.mkdir()
    (folder / "a-dscr.txt").write_text("Calculate DSCR for all properties\nand export to Excel\n")
    (folder / "b-caps.json").write_text(json.dumps({"request": "cap rate above 6%", "format": "pdf",
                                                    "metadata": {"team": "credit"}}))
    (folder / "c-broken.json").write_text('{"request": "DSCR",\n  "format": }')
    (folder / "d-nofield.json").write_text(json.dumps({"ask": "DSCR"}))
    (folder / "e-empty.txt").write_text("   \n")
    (folder / "f-notes.docx").write_bytes(b"PK\x03\x04")
    (folder / "g-latin1.txt").write_bytes("DSCR f\xfcr alle".encode("latin-1"))
    (folder / "h-format.json").write_text(json.dumps({"request": "DSCR", "format": "docx"}))
    (folder / ".hidden").write_text("ignored")
    report = intake.scan_drop_folder(engine, folder)

    assert [a["file"] for a in report.accepted] == ["a-dscr.txt", "b-caps.json"]
    reasons = {r["file"]: r["reason"] for r in report.rejected}
    assert set(reasons) == {"c-broken.json", "d-nofield.json", "e-empty.txt", "f-notes.docx", "g-latin1.txt",
                            "h-format.json"}
    assert "line 2, column 13" in reasons["c-broken.json"]
    assert "field 'request'" in reasons["d-nofield.json"]
    assert "empty" in reasons["e-empty.txt"] and ".txt and .json" in reasons["f-notes.docx"]
    assert "UTF-8" in reasons["g-latin1.txt"] and "docx" in reasons["h-format.json"]
    for name in reasons:
        assert (folder / "rejected" / name).exists()
        assert (folder / "rejected" / f"{name}.error.txt").read_text().strip() == reasons[name]
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == [".hidden"]
    with engine.connect() as conn:
        rows = {r["source_ref"]: r for r in (repo.get_request(conn, a["request_id"]) for a in report.accepted)}
        q = quarantine.list_recent(conn, source_like="drop_folder:")
    assert rows["a-dscr.txt"]["text"] == "Calculate DSCR for all properties and export to Excel"
    assert rows["b-caps.json"]["output_format"] == "pdf" and rows["b-caps.json"]["metadata"]["team"] == "credit"
    assert {r["source"] for r in q} == {f"drop_folder:{n}" for n in reasons}
    assert all(r["status"] == "received" for r in rows.values())


def test_a_file_seen_twice_is_recorded_once(ops_env, tmp_path):
    engine = engine_for(ops_env)
    folder = tmp_path / "requests"
    folder.mkdir()
    (folder / "x.txt").write_text("NOI by city")
    first = intake.scan_drop_folder(engine, folder)
    (folder / "x.txt").write_text("NOI by city")  # dropped again (or a crash before the move)
    second = intake.scan_drop_folder(engine, folder)
    assert first.accepted[0]["request_id"] == second.accepted[0]["request_id"]
    with engine.connect() as conn:
        from meta_agent.store.schema_scripts import script_requests

        assert conn.execute(sa.select(sa.func.count()).select_from(script_requests)).scalar() == 1
    assert len(list((folder / "processed").iterdir())) == 2


def test_missing_folder_is_nothing_to_do(ops_env, tmp_path):
    assert intake.scan_drop_folder(engine_for(ops_env), tmp_path / "nope").as_dict() == {"accepted": [], "rejected": []}
