"""CRUD of workflows through /api/v1/orgs/{org_slug}/workflows/."""

import pytest

from apps.organizations.models import BuiltinRole
from apps.workflows.models import Workflow, WorkflowRun

from .factories import WorkflowFactory, WorkflowRunFactory, definition, step

pytestmark = pytest.mark.django_db

WORKFLOWS = "/api/v1/orgs/acme/workflows/"


def detail(workflow):
    return f"{WORKFLOWS}{workflow.pk}/"


VALID = definition(
    step("greet", config={"template": {"greeting": "Hello {{ input.name }}"}}),
    step("pause", kind="wait", config={"seconds": 1}, depends_on=["greet"]),
)


def test_editor_creates_a_workflow(editor_client, organization):
    response = editor_client.post(
        WORKFLOWS, {"name": "Greeter", "description": "Says hello", "definition": VALID}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Greeter"
    assert body["definition"] == VALID
    assert body["is_active"] is True
    assert body["created_by"]["email"].endswith("@example.com")
    workflow = Workflow.objects.get(pk=body["id"])
    assert workflow.organization == organization
    assert workflow.created_by.email == body["created_by"]["email"]


def test_an_invalid_definition_is_refused_with_every_message_naming_its_step(owner_client):
    response = owner_client.post(
        WORKFLOWS,
        {
            "name": "Broken",
            "definition": definition(
                step("a", kind="teleport"),
                step("b", depends_on=["x"]),
                step("c", depends_on=["d"]),
                step("d", depends_on=["c"]),
            ),
        },
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["definition"] == [
        "Step 'a' has an unknown kind 'teleport'. Known kinds: fail, merge, transform, wait.",
        "Step 'b' depends on 'x', which does not exist.",
        "Steps form a cycle: c → d → c.",
    ]
    assert not Workflow.objects.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], 'The definition must be a JSON object with a "steps" list.'),
        ({"steps": []}, "The definition needs at least one step."),
        ({"steps": "a"}, '"steps" must be a list of steps.'),
        (definition(step("a", depends_on=["a"])), "Step 'a' depends on itself."),
        (definition(step("a"), step("a")), "Step name 'a' is used by more than one step."),
        (
            definition(step("w", kind="wait", config={"seconds": 999})),
            "Step 'w': config.seconds must be a number of seconds, more than 0 and at most 300.",
        ),
    ],
)
def test_definition_errors_are_field_details(owner_client, value, message):
    response = owner_client.post(WORKFLOWS, {"name": "W", "definition": value})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["definition"] == [message]
    assert not Workflow.objects.exists()


def test_name_and_definition_are_required(owner_client):
    response = owner_client.post(WORKFLOWS, {})
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert details["name"] == ["This field is required."]
    assert details["definition"] == ["This field is required."]


def test_name_is_unique_in_the_organization(owner_client, organization, other_organization):
    WorkflowFactory(organization=organization, name="Daily")
    WorkflowFactory(organization=other_organization, name="Other")
    taken = owner_client.post(WORKFLOWS, {"name": "Daily", "definition": VALID})
    assert taken.status_code == 400
    assert taken.json()["error"]["details"]["name"] == ["A workflow with this name already exists."]
    # Another organization's names do not count.
    assert owner_client.post(WORKFLOWS, {"name": "Other", "definition": VALID}).status_code == 201


def test_list_filters_and_orders(owner_client, organization, other_organization):
    WorkflowFactory(organization=organization, name="Nightly report")
    WorkflowFactory(organization=organization, name="Alpha sync", is_active=False)
    WorkflowFactory(organization=organization, name="Beta report")
    WorkflowFactory(organization=other_organization, name="Foreign report")

    names = [w["name"] for w in owner_client.get(WORKFLOWS, {"ordering": "name"}).json()["results"]]
    assert names == ["Alpha sync", "Beta report", "Nightly report"]
    reports = owner_client.get(WORKFLOWS, {"name": "REPORT", "ordering": "-name"}).json()
    assert [w["name"] for w in reports["results"]] == ["Nightly report", "Beta report"]
    inactive = owner_client.get(WORKFLOWS, {"is_active": "false"}).json()["results"]
    assert [w["name"] for w in inactive] == ["Alpha sync"]
    newest_first = owner_client.get(WORKFLOWS).json()["results"]
    assert [w["name"] for w in newest_first] == ["Beta report", "Alpha sync", "Nightly report"]
    assert owner_client.get(WORKFLOWS, {"ordering": "definition"}).status_code == 400


def test_viewer_reads_but_cannot_write(viewer_client, organization):
    workflow = WorkflowFactory(organization=organization, name="Keep")
    assert viewer_client.get(WORKFLOWS).status_code == 200
    assert viewer_client.get(detail(workflow)).json()["name"] == "Keep"
    assert viewer_client.post(WORKFLOWS, {"name": "New", "definition": VALID}).status_code == 403
    assert viewer_client.patch(detail(workflow), {"name": "Changed"}).status_code == 403
    assert viewer_client.delete(detail(workflow)).status_code == 403
    workflow.refresh_from_db()
    assert workflow.name == "Keep"
    assert Workflow.objects.count() == 1


def test_another_organizations_workflow_is_not_found(owner_client, other_organization):
    foreign = WorkflowFactory(organization=other_organization, name="Theirs")
    for method in ("get", "patch", "put", "delete"):
        response = getattr(owner_client, method)(detail(foreign), {"name": "Mine"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    foreign.refresh_from_db()
    assert foreign.name == "Theirs"


def test_non_member_gets_404(client_for, member_of, other_organization, organization):
    outsider = member_of(other_organization, BuiltinRole.OWNER).user
    assert client_for(outsider).get(WORKFLOWS).status_code == 404


def test_update_validates_the_new_definition(owner_client, organization):
    workflow = WorkflowFactory(organization=organization, name="Flow", definition=VALID)
    refused = owner_client.patch(
        detail(workflow), {"definition": definition(step("b", depends_on=["gone"]))}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["definition"] == [
        "Step 'b' depends on 'gone', which does not exist."
    ]
    workflow.refresh_from_db()
    assert workflow.definition == VALID

    renamed = owner_client.patch(detail(workflow), {"name": "Flow 2", "is_active": False})
    assert renamed.status_code == 200
    workflow.refresh_from_db()
    assert (workflow.name, workflow.is_active, workflow.definition) == ("Flow 2", False, VALID)


def test_put_replaces_the_workflow(owner_client, organization):
    workflow = WorkflowFactory(organization=organization, name="Old", description="old")
    new_definition = definition(step("only", kind="merge"))
    response = owner_client.put(
        detail(workflow), {"name": "New", "description": "", "definition": new_definition}
    )
    assert response.status_code == 200, response.json()
    workflow.refresh_from_db()
    assert (workflow.name, workflow.description) == ("New", "")
    assert workflow.definition == new_definition


def test_rename_to_a_taken_name_is_refused(owner_client, organization):
    WorkflowFactory(organization=organization, name="Taken")
    workflow = WorkflowFactory(organization=organization, name="Mine")
    response = owner_client.patch(detail(workflow), {"name": "Taken"})
    assert response.status_code == 400
    assert "name" in response.json()["error"]["details"]
    workflow.refresh_from_db()
    assert workflow.name == "Mine"


def test_delete_removes_the_workflow_and_its_finished_runs(editor_client, organization):
    workflow = WorkflowFactory(organization=organization)
    WorkflowRunFactory(workflow=workflow, status=WorkflowRun.Status.SUCCEEDED)
    assert editor_client.delete(detail(workflow)).status_code == 204
    assert not Workflow.objects.exists()
    assert not WorkflowRun.objects.exists()


@pytest.mark.parametrize("status", [WorkflowRun.Status.QUEUED, WorkflowRun.Status.RUNNING])
def test_delete_is_refused_while_a_run_is_active(owner_client, organization, status):
    workflow = WorkflowFactory(organization=organization)
    WorkflowRunFactory(workflow=workflow, status=status)
    response = owner_client.delete(detail(workflow))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "workflow_busy"
    assert "cancel them" in error["message"]
    assert Workflow.objects.filter(pk=workflow.pk).exists()


@pytest.mark.parametrize("rows", [5, 50])
def test_workflow_list_queries_are_constant(
    owner_client, organization, member_of, rows, django_assert_max_num_queries
):
    creators = [member_of(organization, BuiltinRole.EDITOR).user for _ in range(3)]
    for index in range(rows):
        WorkflowFactory(organization=organization, created_by=creators[index % 3])
    with django_assert_max_num_queries(4):
        response = owner_client.get(WORKFLOWS, {"page_size": 200})
    assert len(response.json()["results"]) == rows
