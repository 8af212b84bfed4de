"""The dashboard's statistic distributions: what each task pays on, per treatment, from the store.

The shipped inside-out study (the CrowdPlay paper's A.4 treatments) requires and pays on the
inside-out statistics; an episode played under one treatment appears in that treatment's sample
of each, with the value the verifier stored, and the chart draws it.
"""

from __future__ import annotations

from pathlib import Path

from crowdplay.server import create_app
from crowdplay.server.study.charts import chart_data, draw
from crowdplay.verifier import stats
from tests.server.conftest import Participant, server_settings, server_state
from tests.streaming import split_log

P0 = "game_0>player_0"


async def test_the_statistics_a_study_pays_on_are_drawn_per_treatment(tmp_path: Path) -> None:
    app = create_app(server_settings(tmp_path))  # the shipped demo tasks
    async with app.test_app():
        client = app.test_client()
        state = server_state(app)
        assert (await chart_data(state.db, state.tasks, "statistics"))["panels"] == []
        platform = {"PROLIFIC_PID": "w1", "STUDY_ID": "s", "SESSION_ID": "x"}
        body = {"task_id": "space_invaders_insideout", "consent": True, "platform": platform}
        created = await (await client.post("/api/sessions", json=body)).get_json()
        treatment = created["treatment"]["id"]
        p = Participant(client, created["token"])
        issued = await p.new_episode()
        log = p.play(issued, 2_000, seed=3)
        await p.stream(issued["episode_id"], split_log(log))
        verdict = await state.verifier.wait(issued["episode_id"], 60)
        assert verdict is not None and verdict.status == "accepted"

        data = await chart_data(state.db, state.tasks, "statistics")
        panels = {p["statistic"]: p for p in data["panels"]}
        assert "Aliens shot inside-out" in panels
        assert not {"Score", "Playtime", "Active playtime"} & set(panels)
        expected = stats.collect(log)[P0]
        for name, panel in panels.items():
            assert panel["task_id"] == "space_invaders_insideout"
            assert panel["treatments"] == {treatment: [float(expected[name])]}
        svg = draw("statistics", data)
        assert svg.startswith("<?xml") and "Aliens shot inside-out" in svg
