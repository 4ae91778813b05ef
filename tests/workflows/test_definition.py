"""The definition validator: every problem is refused with a message naming its step."""

import pytest

from apps.workflows import limits
from apps.workflows.definition import (
    DefinitionError,
    parse_definition,
    sink_names,
    validate_definition,
)

from .factories import definition, step


def test_a_valid_definition_has_no_errors():
    valid = definition(
        step("fetch", config={"template": {"name": "{{ input.name }}"}}),
        step("greet", config={"template": "Hi {{ steps.fetch.name }}"}, depends_on=["fetch"]),
        step("pause", kind="wait", config={"seconds": 0.5}, depends_on=["greet"]),
        step("boom", kind="fail", config={"message": "no"}, depends_on=["pause"]),
        step("all", kind="merge", depends_on=["fetch"]),
    )
    assert validate_definition(valid) == []


def test_config_and_depends_on_may_be_left_out():
    assert validate_definition({"steps": [{"name": "m", "kind": "merge"}]}) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], 'The definition must be a JSON object with a "steps" list.'),
        ("steps", 'The definition must be a JSON object with a "steps" list.'),
        ({}, 'The definition has no "steps": add a list of steps.'),
        ({"steps": {"a": 1}}, '"steps" must be a list of steps.'),
        ({"steps": []}, "The definition needs at least one step."),
    ],
)
def test_the_shape_of_the_definition_is_checked(value, message):
    assert validate_definition(value) == [message]


def test_unknown_top_level_fields_are_refused():
    errors = validate_definition({"steps": [step("a")], "version": 2})
    assert errors == ['The definition has unknown fields: version (only "steps").']


def test_number_of_steps_is_limited():
    too_many = definition(*(step(f"s{n}") for n in range(limits.MAX_STEPS + 1)))
    assert validate_definition(too_many) == [
        f"A workflow has at most {limits.MAX_STEPS} steps; this one has {limits.MAX_STEPS + 1}."
    ]


def test_size_of_the_definition_is_limited():
    huge = definition(step("a", config={"template": "x" * limits.MAX_DEFINITION_BYTES}))
    [error] = validate_definition(huge)
    assert error.startswith("The definition is ")
    assert f"at most {limits.MAX_DEFINITION_BYTES} are allowed" in error


def test_nesting_of_the_definition_is_limited():
    nested = "x"
    for _ in range(limits.MAX_JSON_DEPTH):
        nested = [nested]
    assert validate_definition(definition(step("a", config={"template": nested}))) == [
        f"The definition nests more than {limits.MAX_JSON_DEPTH} levels deep."
    ]


def test_a_step_must_be_an_object_with_a_valid_name():
    errors = validate_definition(
        {
            "steps": [
                "fetch",
                {"kind": "transform", "config": {"template": 1}},
                step("has space"),
                {"name": 7, "kind": "merge"},
                step("x" * 101),
            ]
        }
    )
    assert errors[0] == "The step at position 1 must be an object."
    assert errors[1] == "The step at position 2 has no name."
    assert errors[2] == (
        'The step at position 3 has an invalid name "has space": use 1 to 100 letters, digits, '
        "hyphens and underscores."
    )
    assert errors[3].startswith("The step at position 4 has an invalid name 7:")
    assert errors[4].startswith("The step at position 5 has an invalid name")
    assert len(errors) == 5


def test_duplicate_step_names_are_refused():
    errors = validate_definition(definition(step("a"), step("b"), step("a")))
    assert errors == ["Step name 'a' is used by more than one step."]


def test_unknown_step_fields_are_refused():
    errors = validate_definition({"steps": [{**step("a"), "retries": 3}]})
    assert errors == [
        "Step 'a' has unknown fields: retries (allowed: name, kind, config, depends_on)."
    ]


def test_unknown_or_missing_kind_lists_the_known_kinds():
    errors = validate_definition(
        {"steps": [step("a", kind="http"), {"name": "b"}, {"name": "c", "kind": 3}]}
    )
    known = "Known kinds: fail, merge, transform, wait."
    assert errors == [
        f"Step 'a' has an unknown kind 'http'. {known}",
        f"Step 'b' has no kind. {known}",
        f"Step 'c' has an invalid kind 3. {known}",
    ]


@pytest.mark.parametrize("depends_on", ["a", [1], {"a": True}, ["a", None]])
def test_depends_on_must_be_a_list_of_names(depends_on):
    raw = {**step("b"), "depends_on": depends_on}
    errors = validate_definition({"steps": [step("a"), raw]})
    assert errors == ["Step 'b': depends_on must be a list of step names."]


def test_a_dependency_listed_twice_is_refused():
    errors = validate_definition(definition(step("a"), step("b", depends_on=["a", "a"])))
    assert errors == ["Step 'b' lists 'a' more than once in depends_on."]


def test_dependency_on_a_missing_step_is_refused():
    errors = validate_definition(definition(step("a"), step("b", depends_on=["a", "x"])))
    assert errors == ["Step 'b' depends on 'x', which does not exist."]


def test_self_dependency_is_refused():
    errors = validate_definition(definition(step("a", depends_on=["a"])))
    assert errors == ["Step 'a' depends on itself."]


def test_a_cycle_is_refused_naming_its_steps_in_data_flow_order():
    # b reads a, c reads b, a reads c: data goes a -> b -> c -> a.
    errors = validate_definition(
        definition(
            step("a", depends_on=["c"]),
            step("b", depends_on=["a"]),
            step("c", depends_on=["b"]),
            step("d", depends_on=["c"]),
        )
    )
    assert errors == ["Steps form a cycle: a → b → c → a."]


def test_every_separate_cycle_is_reported():
    errors = validate_definition(
        definition(
            step("ok"),
            step("x", depends_on=["y"]),
            step("y", depends_on=["x"]),
            step("p", depends_on=["ok", "q"]),
            step("q", depends_on=["p"]),
        )
    )
    assert errors == ["Steps form a cycle: x → y → x.", "Steps form a cycle: p → q → p."]


def test_config_must_be_an_object():
    errors = validate_definition({"steps": [{**step("a"), "config": [1]}]})
    assert errors == ["Step 'a': config must be an object."]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (step("t", config={}), "Step 't': config.template is required."),
        (
            step("t", config={"template": 1, "mode": "x"}),
            "Step 't': config has unknown fields: mode (allowed: template).",
        ),
        (
            step("t", config={"template": "{{ a b }}"}),
            "Step 't': config.template: {{ a b }} is not a valid placeholder: use a dotted "
            "path such as {{ input.name }} or {{ steps.fetch.value }}.",
        ),
        (
            step("t", config={"template": ["{{ env.SECRET }}"]}),
            "Step 't': config.template: {{ env.SECRET }} must start with 'input' or 'steps'.",
        ),
        (
            step("t", config={"template": "{{ steps }}"}),
            "Step 't': config.template: {{ steps }} must name a step, such as {{ steps.fetch }}.",
        ),
        (
            step("w", kind="wait", config={}),
            "Step 'w': config.seconds must be a number of seconds, more than 0 and at most 300.",
        ),
        (
            step("w", kind="wait", config={"seconds": 0}),
            "Step 'w': config.seconds must be a number of seconds, more than 0 and at most 300.",
        ),
        (
            step("w", kind="wait", config={"seconds": 301}),
            "Step 'w': config.seconds must be a number of seconds, more than 0 and at most 300.",
        ),
        (
            step("w", kind="wait", config={"seconds": True}),
            "Step 'w': config.seconds must be a number of seconds, more than 0 and at most 300.",
        ),
        (
            step("f", kind="fail", config={"message": " "}),
            "Step 'f': config.message must be a non-empty text of at most 1000 characters.",
        ),
        (
            step("m", kind="merge", config={"deep": True}),
            "Step 'm': config has unknown fields: deep (allowed: none).",
        ),
    ],
)
def test_each_kind_validates_its_config(raw, message):
    assert validate_definition({"steps": [raw]}) == [message]


def test_a_template_may_only_read_the_steps_it_depends_on():
    errors = validate_definition(
        definition(
            step("a"),
            step("b"),
            step("c", config={"template": "{{ steps.a.x }} {{ steps.b }}"}, depends_on=["a"]),
        )
    )
    assert errors == [
        "Step 'c' reads {{ steps.b }} but does not depend on 'b': add it to depends_on."
    ]


def test_all_problems_are_reported_together():
    errors = validate_definition(
        definition(step("a", kind="nope"), step("b", depends_on=["x"]), step("c", depends_on=["c"]))
    )
    assert len(errors) == 3


def test_parse_orders_dependencies_first_then_as_written():
    steps = parse_definition(
        definition(
            step("d", depends_on=["b", "c"]),
            step("c", depends_on=["a"]),
            step("b", depends_on=["a"]),
            step("a"),
            step("lonely"),
        )
    )
    assert [s.name for s in steps] == ["a", "c", "b", "d", "lonely"]
    assert sink_names(steps) == ["d", "lonely"]


def test_parse_refuses_an_invalid_definition_with_all_its_errors():
    with pytest.raises(DefinitionError) as caught:
        parse_definition(definition(step("a", depends_on=["zz"])))
    assert caught.value.errors == ["Step 'a' depends on 'zz', which does not exist."]
