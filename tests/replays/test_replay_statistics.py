"""Statistics of a scripted episode whose box moves and locks are known in advance."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from replays import Episode, episode_statistics, record_episodes, save_episode
from replays.statistics import format_statistics, numeric_statistics

STEPS = 20  # 21 frames; frames 0..8 flagged: steps 1..9 are preparation, which ends at frame 9


#: what the arena declares its replays' statistics to be
DECLARED = {
    "statistics_objects": np.array(["box", "ramp"]),
    "statistics_phase": np.array("prep"),
    "statistics_flags": np.array(["hidden"]),
    "statistics_teams": np.array(["hider", "seeker"]),
}


def scripted_episode() -> Episode:
    frames = STEPS + 1
    box_pos = np.zeros((frames, 3, 3))
    box_pos[:, 1] = (2.0, 2.0, 0.25)
    for frame in range(frames):  # box 0 slides 1.5 m along x during frames 2..6
        box_pos[frame, 0, 0] = 1.5 * min(max(frame - 2, 0), 4) / 4
    box_pos[15:, 1, 1] = 2.5  # box 1 moves 0.5 m after preparation
    box_pos[:, 2, 0] = np.arange(frames) * 10.0  # box 2 does not exist: its motion must not count
    box_lock = np.full((frames, 3), -1)
    box_lock[6:, 0] = 0  # hiders lock box 0 at step 6
    ramp_lock = np.full((frames, 1), -1)
    ramp_lock[12:16, 0] = 1  # seekers lock the ramp at step 12 and it is unlocked at step 16
    grabbed = np.full((frames, 4), -1)
    grabbed[2:7, 0] = 0  # hider_0 drags box 0 from step 2, releases at step 7
    grabbed[10:12, 2] = 3  # seeker_0 holds the ramp (index 3 = boxes first, then ramps) at steps 10-11
    agent_pos = np.zeros((frames, 4, 3))
    agent_pos[:, :, :2] = [(0, 0), (0, 1), (3, 0), (4, 1)]
    hidden = np.arange(frames) < 15
    prep = np.arange(frames) <= 8
    agents = ["hider_0", "hider_1", "seeker_0", "seeker_1"]
    rewards = np.zeros((STEPS, 4), np.float32)
    rewards[9:, :2] = np.where(hidden[10:], 1.0, -1.0)[:, None]
    rewards[9:, 2:] = -rewards[9:, :2]
    return Episode(
        env_id="scripted",
        env_kwargs={},
        seed=0,
        agents=agents,
        static={
            "team": np.array([0, 0, 1, 1]),
            "box_exists": np.array([True, True, False]),
            "ramp_exists": np.array([True]),
            **DECLARED,
        },
        frames={
            "agent_pos": agent_pos,
            "box_pos": box_pos,
            "box_lock_team": box_lock,
            "ramp_pos": np.zeros((frames, 1, 3)),
            "ramp_lock_team": ramp_lock,
            "grabbed": grabbed,
            "hidden": hidden,
            "prep": prep,
        },
        actions=np.zeros((STEPS, 4, 1), np.float32),
        action_dims=np.ones(4, np.int16),
        rewards=rewards,
        terminations=np.zeros((STEPS, 4), bool),
        truncations=np.zeros((STEPS, 4), bool),
        active=np.ones((STEPS, 4), bool),
    )


def test_statistics_match_the_script(tmp_path):
    path = save_episode(scripted_episode(), tmp_path / "scripted.npz")
    stats = episode_statistics(path)
    assert stats["episode_length"] == 20 and stats["preparation_steps"] == 9
    assert stats["box_max_displacement_prep"] == pytest.approx(1.5)
    assert stats["box_mean_displacement_prep"] == pytest.approx(0.75)
    assert stats["box_max_displacement_after"] == pytest.approx(0.5)
    assert stats["box_max_displacement_end"] == pytest.approx(1.5)
    assert stats["box_mean_displacement_end"] == pytest.approx(1.0)
    assert stats["box_locked_prep"] == 1 and stats["box_locked_end"] == 1 and stats["box_lock_events"] == 1
    assert stats["ramp_max_displacement_prep"] == 0 and stats["ramp_locked_end"] == 0
    assert stats["ramp_lock_events"] == 1
    assert stats["first_lock_step"] == 6
    assert stats["hidden_fraction"] == pytest.approx(5 / 11)  # frames 10..20, hidden until 14
    assert stats["hidden_fraction_prep"] == 1.0
    assert stats["hider_seeker_distance_mean"] == pytest.approx((3.0 + math.sqrt(10.0)) / 2, rel=1e-6)
    assert stats["hider_seeker_distance_min"] == pytest.approx(3.0)
    assert stats["grabs"] == 2 and stats["grabs/team_0"] == 1 and stats["grabs/team_1"] == 1
    assert stats["return/hider_0"] == pytest.approx(5 - 6) and stats["return/seeker_0"] == pytest.approx(1)
    events = [(e["step"], e["kind"], e.get("agent"), e["team"], e["object"]) for e in stats["events"]]
    assert events == [
        (2, "grab", "hider_0", 0, "box 0"),
        (6, "lock", None, 0, "box 0"),
        (7, "release", "hider_0", 0, "box 0"),
        (10, "grab", "seeker_0", 1, "ramp 0"),
        (12, "lock", None, 1, "ramp 0"),
        (12, "release", "seeker_0", 1, "ramp 0"),
        (16, "unlock", None, 1, "ramp 0"),
    ]
    numeric = numeric_statistics(stats)
    assert "events" not in numeric and all(isinstance(v, float) for v in numeric.values())
    text = format_statistics(stats)
    assert "box_max_displacement_prep" in text and "step    6  lock    box 0    by team 0" in text


def test_an_environment_that_declares_nothing_gets_the_generic_statistics_alone(tmp_path):
    import replay_disc_env

    [path] = record_episodes(None, lambda: replay_disc_env.parallel_env(max_steps=8), 1, tmp_path / "d.npz")
    stats = episode_statistics(path)
    # its frames hold box_pos, box_lock_team and hidden, but it declared none of them
    assert stats["episode_length"] == 8 and stats["preparation_steps"] == 0 and "grabs" not in stats
    assert not any(key.startswith(("box", "hidden", "first_lock")) for key in stats)
    assert stats["env/hidden_fraction"] == 0.5 and stats["events"] == []


def test_statistics_follow_the_names_an_environment_declares(tmp_path):
    episode = scripted_episode()
    frames = {
        key.replace("box", "crate").replace("hidden", "safe").replace("prep", "setup"): value
        for key, value in episode.frames.items()
    }
    static = {
        "team": episode.static["team"],
        "crate_exists": episode.static["box_exists"],
        "statistics_objects": np.array(["crate"]),
        "statistics_phase": np.array("setup"),
        "statistics_flags": np.array(["safe"]),
        "statistics_teams": np.array(["red", "blue"]),
    }
    renamed_episode = dataclasses.replace(episode, frames=frames, static=static)
    stats, original = episode_statistics(renamed_episode), episode_statistics(episode)
    assert stats["preparation_steps"] == original["preparation_steps"] == 9
    assert stats["crate_max_displacement_setup"] == original["box_max_displacement_prep"]
    assert stats["crate_locked_setup"] == original["box_locked_prep"]
    assert stats["safe_fraction"] == original["hidden_fraction"]
    assert stats["red_blue_distance_mean"] == original["hider_seeker_distance_mean"]
    assert not any(key.startswith(("box", "ramp", "hidden")) for key in stats)
    grabs = [event["object"] for event in stats["events"] if event["kind"] == "grab"]
    assert grabs == ["crate 0", "object 3"]  # the ramp, undeclared here, has no name


@pytest.mark.parametrize(("lag", "locked"), [(None, 1.0), (0, 1.0), (1, 2.0), (50, 2.0)])
def test_phase_statistics_are_read_where_the_environment_declares_it_takes_them(lag, locked):
    episode = scripted_episode()
    episode.frames["box_lock_team"][10:, 1] = 0  # box 1 locked at frame 10, one after the phase ends
    if lag is not None:
        episode.static["statistics_phase_lag"] = np.array(lag)
    stats = episode_statistics(episode)
    assert stats["preparation_steps"] == 9
    assert stats["box_locked_prep"] == locked
    assert stats["box_locked_end"] == 2.0
