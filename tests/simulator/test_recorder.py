"""The recorder's stream: what the window is told, and when."""

from __future__ import annotations

from simulator.recorder import RecordedRun
from simulator.scenario import Document, Link, Pace, Producer, QueueNode, Scenario


def test_a_quiet_run_is_vouched_complete_as_it_goes(tmp_path):
    """While nothing happens (the producer waits a second between its two puts), the recorder
    still says how far the run is complete: the window folds the first put in at once, and
    never has to guess whether the run is quiet or its recorder held up."""
    frames = []
    document = Document(Scenario(
        title="quiet", start_method="fork",
        nodes=[Producer("P", items=2, interval=Pace(1.0)), QueueNode("q")],
        links=[Link("P", "q", "put")],
    ))
    run = RecordedRun(document, tmp_path / "quiet.ipctrace", on_frame=frames.append)
    run.start()
    assert run.wait() == "finished"
    puts = [e.t_ns for frame in frames for e in frame.events() if e.kind == "message_put"]
    assert len(puts) == 2
    vouched = [frame.complete_ns for frame in frames
               if not frame.count and frame.complete_ns is not None and puts[0] < frame.complete_ns < puts[1]]
    assert len(vouched) >= 10
    assert vouched == sorted(vouched) and vouched[-1] > puts[0] + 500_000_000
