"""bench study run's plan: one sweep study per experiment × arm, named so the report finds it; data
looked up, missing data skipped and said; what the protocol fixes is never searched."""
import pytest

from bench.core.errors import UsageError
from bench.core.registry import STUDIES
from bench.study import plan as plans
from tasks._piano_rolls import random_rolls, write_mat


@pytest.fixture
def data_dir(tmp_path):
    """A data folder holding JSB Chorales only (a small generated file of the real format)."""
    (tmp_path / "music").mkdir()
    write_mat(tmp_path / "music" / "JSB_Chorales.mat", {split: random_rolls(4, 12, 20, seed)
                                                        for seed, split in enumerate(("train", "val", "test"))})
    return tmp_path


def test_each_experiment_with_its_data_becomes_one_sweep_study_per_arm_the_rest_is_skipped(data_dir):
    chung = STUDIES.get("chung2014")
    planned = plans.plan(chung, "laptop", {}, data_dir)
    assert [p.name for p in planned.plans] == [
        "music/vanilla/params=20000/chung2014/laptop/jsb/tanh",
        "music/gru/params=20000/chung2014/laptop/jsb/gru",
        "music/lstm/params=20000/chung2014/laptop/jsb/lstm",
    ]
    assert [line.split(":")[0] for line in planned.skipped] == ["nottingham", "speech"]
    assert "--data nottingham=PATH" in planned.skipped[0]
    for one in planned.plans:  # equal budget: hidden sizes differ, parameter counts do not
        assert one.config.model.params == 20000 and one.config.train.optimizer == "rmsprop"
    sizes = {p.config.model.arch: p.config.model.hidden_size for p in planned.plans}
    assert sizes["vanilla"] > sizes["gru"] > sizes["lstm"]


def test_what_the_protocol_or_an_arm_fixes_is_not_searched():
    joz = STUDIES.get("jozefowicz2015")
    planned = plans.plan(joz, "smoke", {}, None)
    by_label = {p.name.rsplit("/", 1)[1]: p for p in planned.plans}
    assert "model.forget_bias" not in by_label["lstm-b0"].space  # the arm fixes it
    assert by_label["lstm-b0"].config.model.options.forget_bias == 0.0
    assert by_label["lstm-b1"].config.model.options.forget_bias == 1.0
    assert "train.optimizer" not in by_label["gru"].space and "train.lr" in by_label["gru"].space



def test_an_arm_can_fix_a_training_setting_which_then_is_not_searched():
    planned = plans.plan(STUDIES.get("pascanu2013"), "laptop", {}, None)
    clipping = {p.name.rsplit("/", 1)[1]: p.config.train.clip_grad_norm for p in planned.plans}
    assert clipping == {"clipped": 1.0, "unclipped": 0.0}
    assert all(set(p.space) == {"train.lr"} for p in planned.plans)  # the paper's 50 units, only lr searched
    assert {p.config.model.hidden_size for p in planned.plans} == {50}


def test_random_search_searches_exactly_the_studys_space(data_dir):
    greff = plans.plan(STUDIES.get("greff2017"), "smoke", {}, data_dir)
    assert set(greff.plans[0].space) == {"train.lr", "model.hidden_size", "train.momentum", "model.dropout"}


def test_given_data_wins_over_the_data_folder_and_a_bad_pair_is_a_usage_error(data_dir, tmp_path):
    chung = STUDIES.get("chung2014")
    assert plans.parse_data([f"jsb={data_dir}/music/JSB_Chorales.mat"], chung)["jsb"].name == "JSB_Chorales.mat"
    with pytest.raises(UsageError, match="write NAME=PATH"):
        plans.parse_data(["jsb"], chung)
    with pytest.raises(UsageError, match="needs no data called 'imagenet'; it reads jsb, musedata"):
        plans.parse_data([f"imagenet={data_dir}"], chung)
    with pytest.raises(UsageError, match="no such file or folder"):
        plans.parse_data([f"jsb={tmp_path}/missing.mat"], chung)


def test_each_experiment_has_its_own_budget_where_the_paper_sizes_models_per_task():
    bai = STUDIES.get("bai2018")
    planned = plans.plan(bai, "smoke", {}, None)  # nottingham has no data here: adding alone
    assert [p.name for p in planned.plans] == [f"addition/{arch}/params=70000/bai2018/smoke/adding/{label}"
                                               for arch, label in (("lstm", "lstm"), ("gru", "gru"), ("vanilla", "tanh"))]
    assert all(abs(p.config.model.params - 70000) == 0 for p in planned.plans)
    assert plans.mlflow_experiment(bai) == "bai2018" and all(p.experiment == "bai2018" for p in planned.plans)
