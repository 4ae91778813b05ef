"""Step kinds and the `{{ path }}` templating of `transform`."""

import pytest

from apps.workflows import limits, steps, templating
from apps.workflows.steps import RunCancelled, StepContext, StepError


def context(input=None, outputs=None, check_cancelled=lambda: None):
    return StepContext(input=input or {}, steps=outputs or {}, check_cancelled=check_cancelled)


def transform(template, ctx):
    return steps.get_step_kind("transform").run({"template": template}, ctx)


def test_a_whole_placeholder_keeps_the_json_type():
    ctx = context(
        {"n": 3, "ok": True, "none": None, "items": [1, 2], "user": {"name": "Ada"}},
        {"sum": {"value": 12.5}},
    )
    rendered = transform(
        {
            "n": "{{ input.n }}",
            "ok": "{{input.ok}}",
            "none": "{{ input.none }}",
            "items": "{{ input.items }}",
            "user": "{{ input.user }}",
            "total": "{{ steps.sum.value }}",
        },
        ctx,
    )
    assert rendered == {
        "n": 3,
        "ok": True,
        "none": None,
        "items": [1, 2],
        "user": {"name": "Ada"},
        "total": 12.5,
    }


def test_placeholders_in_a_longer_string_are_stringified():
    ctx = context({"name": "Ada", "n": 3, "ok": False, "tags": ["a"], "none": None})
    rendered = transform(
        "Hello {{ input.name }}: {{ input.n }} {{ input.ok }} {{ input.tags }} {{ input.none }}",
        ctx,
    )
    assert rendered == 'Hello Ada: 3 false ["a"] null'


def test_templates_nest_and_index_lists():
    ctx = context({"rows": [{"id": "r1"}, {"id": "r2"}]}, {"fetch": {"count": 2}})
    rendered = transform(
        {"first": ["{{ input.rows.0.id }}", {"deep": "#{{ input.rows.1.id }}"}], "n": 7},
        ctx,
    )
    assert rendered == {"first": ["r1", {"deep": "#r2"}], "n": 7}


def test_keys_and_non_string_values_are_left_alone():
    assert transform({"{{ input.x }}": 1.5, "b": None}, context({"x": "k"})) == {
        "{{ input.x }}": 1.5,
        "b": None,
    }


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ input.user.name }}", "Path 'input.user.name' does not exist: input has no 'user'."),
        ("x {{ steps.fetch }}", "Path 'steps.fetch' does not exist: steps has no 'fetch'."),
        ("{{ input.rows.5 }}", "Path 'input.rows.5' does not exist: input.rows has no '5'."),
        ("{{ input.rows.x }}", "Path 'input.rows.x' does not exist: input.rows has no 'x'."),
    ],
)
def test_a_missing_path_fails_the_step_naming_the_path(template, message):
    with pytest.raises(StepError) as caught:
        transform(template, context({"rows": [1]}))
    assert str(caught.value) == message


def test_substituted_values_are_not_rendered_again():
    ctx = context({"evil": "{{ input.secret }}", "secret": "s3cret"})
    assert transform("{{ input.evil }}!", ctx) == "{{ input.secret }}!"
    assert transform("{{ input.evil }}", ctx) == "{{ input.secret }}"


def test_whole_placeholder_values_are_copies():
    source = {"items": [1]}
    rendered = transform("{{ steps.a }}", context(outputs={"a": source}))
    rendered["items"].append(2)
    assert source == {"items": [1]}


def test_rendering_is_bounded_in_size():
    big = "x" * (limits.MAX_STEP_OUTPUT_BYTES // 4)
    with pytest.raises(StepError, match="larger than"):
        transform(["{{ input.big }}"] * 5, context({"big": big}))
    with pytest.raises(templating.TemplateError):
        templating.render("{{ input.big }}" * 5, {"input": {"big": big}}, max_bytes=1000)


def test_referenced_steps_are_read_from_placeholders():
    template = {"a": "{{ steps.x.y }}", "b": ["{{ steps.z }} {{ input.q }}"], "c": "{{ bad path }}"}
    assert templating.referenced_steps(template) == {"x", "z"}


def test_wait_passes_its_dependencies_outputs_through(monkeypatch):
    wait = steps.get_step_kind("wait")
    assert wait.run({"seconds": 0.01}, context({"in": 1})) == {"in": 1}
    assert wait.run({"seconds": 0.01}, context(outputs={"a": [1]})) == [1]
    assert wait.run({"seconds": 0.01}, context(outputs={"a": 1, "b": 2})) == {"a": 1, "b": 2}


def test_wait_sleeps_in_slices_and_stops_when_cancelled(monkeypatch):
    slept = []
    monkeypatch.setattr(steps.time, "sleep", slept.append)
    checks = iter([None, None, RunCancelled()])

    def check_cancelled():
        outcome = next(checks)
        if outcome is not None:
            raise outcome

    clock = iter(x * 0.2 for x in range(100))
    monkeypatch.setattr(steps.time, "monotonic", lambda: next(clock))
    with pytest.raises(RunCancelled):
        steps.get_step_kind("wait").run({"seconds": 60}, context(check_cancelled=check_cancelled))
    assert len(slept) == 2
    assert all(0 < seconds <= limits.WAIT_SLICE_SECONDS for seconds in slept)


def test_fail_always_fails_with_its_message():
    with pytest.raises(StepError, match=r"^Upstream said no$"):
        steps.get_step_kind("fail").run({"message": "Upstream said no"}, context())


def test_merge_combines_object_outputs_in_dependency_order():
    merge = steps.get_step_kind("merge")
    merged = merge.run({}, context(outputs={"a": {"x": 1, "y": 1}, "b": {"y": 2}}))
    assert merged == {"x": 1, "y": 2}
    assert merge.run({}, context({"only": "input"})) == {"only": "input"}
    with pytest.raises(StepError) as caught:
        merge.run({}, context(outputs={"a": {"x": 1}, "b": [1]}))
    assert str(caught.value) == "merge needs objects, but 'b' gave an array."


def test_step_kinds_are_registered_once_by_name():
    assert steps.known_kinds() == ["fail", "merge", "transform", "wait"]
    with pytest.raises(ValueError, match="registered twice"):

        @steps.register
        class Again(steps.StepKind):
            name = "wait"


@pytest.mark.parametrize(
    ("output", "described"),
    [(None, "null"), (True, "a boolean"), (2.5, "a number"), ("x", "a string"), ([], "an array")],
)
def test_merge_names_the_json_type_it_refuses(output, described):
    with pytest.raises(StepError) as caught:
        steps.get_step_kind("merge").run({}, context(outputs={"a": output}))
    assert str(caught.value) == f"merge needs objects, but 'a' gave {described}."
