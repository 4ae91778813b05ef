"""The fine-tuning jobs API: create, list, read, cancel, delete, and who may do what."""

import json

import pytest

from apps.finetuning.models import FineTuningJob
from apps.organizations.models import BuiltinRole

from .conftest import GOOD, VALID_FILE, job_url, jobs_url, jsonl, upload
from .factories import FineTuningJobFactory

pytestmark = pytest.mark.django_db

Status = FineTuningJob.Status
RESPONSE_FIELDS = {
    "id",
    "base_model",
    "training_file_name",
    "hyperparameters",
    "provider",
    "status",
    "validation_stats",
    "result",
    "error",
    "created_by",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
}


def post_job(client, **fields):
    data = {"base_model": "gpt-4o-mini", "training_file": upload(), **fields}
    return client.post(jobs_url(), data, format="multipart")


def details(response):
    assert response.status_code == 400, response.json()
    body = response.json()["error"]
    assert body["code"] == "validation_error"
    return body["details"]


@pytest.fixture
def nothing_stored(stored_files):
    """Assert, at the end of a test, that no job and no file was written."""
    yield
    assert not FineTuningJob.objects.exists()
    assert stored_files() == []


# --- Create ---------------------------------------------------------------------


def test_create_stores_the_file_and_queues_the_job(owner_client, owner, stored_files):
    response = post_job(
        owner_client,
        training_file=upload(VALID_FILE, "support-chats.jsonl"),
        hyperparameters=json.dumps({"n_epochs": 4, "learning_rate_multiplier": 0.5}),
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == RESPONSE_FIELDS
    assert body["base_model"] == "gpt-4o-mini"
    assert body["training_file_name"] == "support-chats.jsonl"
    assert body["hyperparameters"] == {"n_epochs": 4, "learning_rate_multiplier": 0.5}
    assert body["provider"] == "local"
    assert body["status"] == "queued"
    assert body["validation_stats"] == body["result"] == {}
    assert body["error"] == ""
    assert body["started_at"] is body["finished_at"] is None
    assert body["created_by"] == {
        "id": str(owner.user.pk),
        "email": owner.user.email,
        "display_name": owner.user.display_name,
    }

    job = FineTuningJob.objects.get(pk=body["id"])
    assert job.organization.slug == "acme"
    assert job.created_by == owner.user
    assert stored_files() == [f"finetuning/{job.organization_id}/{job.pk}.jsonl"]
    with job.training_file.open("rb") as stored:
        assert stored.read() == VALID_FILE
    # The storage path is never shown.
    assert "finetuning/" not in response.content.decode()


def test_create_as_json_with_the_file_given_as_text(
    owner_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            jobs_url(),
            {
                "base_model": "meta-llama/Llama-3.1-8B",
                "training_data": VALID_FILE.decode(),
                "hyperparameters": {"batch_size": 3},
            },
            format="json",
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["training_file_name"] == "training_data.jsonl"
    assert body["hyperparameters"] == {"batch_size": 3}
    job = FineTuningJob.objects.get(pk=body["id"])
    assert job.status == Status.SUCCEEDED
    assert job.result["steps"] == 3  # 3 examples in one batch, 3 epochs


@pytest.mark.parametrize("name", ["train.jsonl", "TRAIN.JSONL", "train.json"])
def test_jsonl_and_json_extensions_are_accepted(owner_client, name):
    response = post_job(owner_client, training_file=upload(name=name))
    assert response.status_code == 201, response.json()
    assert response.json()["training_file_name"] == name


def test_a_file_at_the_size_limit_is_accepted(owner_client, settings):
    settings.FINETUNING_MAX_UPLOAD_BYTES = len(VALID_FILE)
    assert post_job(owner_client).status_code == 201


def test_over_the_size_limit_is_refused(owner_client, settings, nothing_stored):
    settings.FINETUNING_MAX_UPLOAD_BYTES = 100
    response = post_job(owner_client, training_file=upload(VALID_FILE))
    assert details(response) == {
        "training_file": [f"The training file is {len(VALID_FILE)} bytes; the limit is 100 bytes."]
    }


def test_size_limit_is_given_in_megabytes_too(owner_client, settings, nothing_stored):
    settings.FINETUNING_MAX_UPLOAD_BYTES = 1024 * 1024 + 512 * 1024
    big = jsonl(GOOD) * (settings.FINETUNING_MAX_UPLOAD_BYTES // len(jsonl(GOOD)) + 1)
    response = post_job(owner_client, training_file=upload(big))
    assert details(response)["training_file"] == [
        f"The training file is {len(big)} bytes; the limit is 1572864 bytes (1.5 MB)."
    ]


def test_over_the_size_limit_as_text_is_refused(owner_client, settings, nothing_stored):
    settings.FINETUNING_MAX_UPLOAD_BYTES = 100
    response = owner_client.post(
        jobs_url(), {"base_model": "m", "training_data": VALID_FILE.decode()}, format="json"
    )
    assert "the limit is 100 bytes" in details(response)["training_data"][0]


@pytest.mark.parametrize(
    ("name", "got"),
    [("train.csv", ".csv"), ("train.jsonl.txt", ".txt"), ("train", "no extension")],
)
def test_wrong_extension_is_refused(owner_client, nothing_stored, name, got):
    response = post_job(owner_client, training_file=upload(name=name))
    assert details(response) == {
        "training_file": [
            f"The training file must be JSON Lines with the extension .jsonl or .json; got {got}."
        ]
    }


def test_base_model_and_training_file_are_required(owner_client, nothing_stored):
    response = owner_client.post(jobs_url(), {}, format="multipart")
    assert details(response) == {
        "base_model": ["This field is required."],
        "training_file": ["No file was submitted."],
    }
    as_json = owner_client.post(jobs_url(), {}, format="json")
    assert details(as_json) == {
        "base_model": ["This field is required."],
        "training_data": ["This field is required."],
    }


def test_training_file_must_be_a_file(owner_client, nothing_stored):
    response = owner_client.post(
        jobs_url(), {"base_model": "m", "training_file": "not a file"}, format="multipart"
    )
    assert "training_file" in details(response)


@pytest.mark.parametrize(
    ("base_model", "message"),
    [
        ("", "This field may not be blank."),
        ("x" * 101, "Ensure this field has no more than 100 characters."),
        (
            "gpt 4",
            "Use letters, digits and the characters . _ : / - (starting with a letter or digit).",
        ),
        (
            "-gpt",
            "Use letters, digits and the characters . _ : / - (starting with a letter or digit).",
        ),
        (
            "../../etc",
            "Use letters, digits and the characters . _ : / - (starting with a letter or digit).",
        ),
    ],
)
def test_base_model_is_validated(owner_client, nothing_stored, base_model, message):
    response = post_job(owner_client, base_model=base_model)
    assert details(response) == {"base_model": [message]}


def test_base_model_of_100_characters_is_accepted(owner_client):
    assert post_job(owner_client, base_model="m" * 100).status_code == 201


ALLOWED = "Allowed: batch_size, learning_rate_multiplier, n_epochs."


@pytest.mark.parametrize(
    ("hyperparameters", "messages"),
    [
        ("{not json", ['Must be a JSON object, such as {"n_epochs": 3}.']),
        ("[1, 2]", ['Must be a JSON object, such as {"n_epochs": 3}.']),
        ('"n_epochs"', ['Must be a JSON object, such as {"n_epochs": 3}.']),
        pytest.param(
            "[" * 100_000 + "]" * 100_000,
            ['Must be a JSON object, such as {"n_epochs": 3}.'],
            id="nested-too-deeply",
        ),
        ({"temperature": 1}, [f'Unknown hyperparameter "temperature". {ALLOWED}']),
        ({"n_epochs": 0}, ["n_epochs must be an integer from 1 to 50."]),
        ({"n_epochs": 51}, ["n_epochs must be an integer from 1 to 50."]),
        ({"n_epochs": 2.5}, ["n_epochs must be an integer from 1 to 50."]),
        ({"n_epochs": "3"}, ["n_epochs must be an integer from 1 to 50."]),
        ({"n_epochs": True}, ["n_epochs must be an integer from 1 to 50."]),
        (
            {"learning_rate_multiplier": 0},
            ["learning_rate_multiplier must be a number greater than 0 and at most 10."],
        ),
        (
            {"learning_rate_multiplier": 10.01},
            ["learning_rate_multiplier must be a number greater than 0 and at most 10."],
        ),
        ({"batch_size": 257}, ["batch_size must be an integer from 1 to 256."]),
        ({"batch_size": None}, ["batch_size must be an integer from 1 to 256."]),
        (
            {"seed": 1, "n_epochs": 0, "batch_size": 0},
            [
                f'Unknown hyperparameter "seed". {ALLOWED}',
                "n_epochs must be an integer from 1 to 50.",
                "batch_size must be an integer from 1 to 256.",
            ],
        ),
    ],
)
def test_bad_hyperparameters_are_refused(owner_client, nothing_stored, hyperparameters, messages):
    encoded = hyperparameters if isinstance(hyperparameters, str) else json.dumps(hyperparameters)
    response = post_job(owner_client, hyperparameters=encoded)
    assert details(response) == {"hyperparameters": messages}


def test_bad_hyperparameters_in_json_are_refused(owner_client, nothing_stored):
    response = owner_client.post(
        jobs_url(),
        {"base_model": "m", "training_data": "", "hyperparameters": {"n_epochs": 100}},
        format="json",
    )
    assert details(response) == {"hyperparameters": ["n_epochs must be an integer from 1 to 50."]}
    as_list = owner_client.post(
        jobs_url(),
        {"base_model": "m", "training_data": "", "hyperparameters": [1]},
        format="json",
    )
    assert details(as_list) == {
        "hyperparameters": ['Must be a JSON object, such as {"n_epochs": 3}.']
    }


def test_boundary_hyperparameters_are_accepted(owner_client):
    bounds = {"n_epochs": 50, "learning_rate_multiplier": 10, "batch_size": 256}
    response = post_job(owner_client, hyperparameters=json.dumps(bounds))
    assert response.status_code == 201, response.json()
    assert response.json()["hyperparameters"] == bounds


def test_every_bad_field_is_reported_at_once(owner_client, nothing_stored):
    response = post_job(
        owner_client,
        base_model="bad model",
        training_file=upload(name="x.txt"),
        hyperparameters='{"foo": 1}',
    )
    assert set(details(response)) == {"base_model", "training_file", "hyperparameters"}


def test_viewer_cannot_create_a_job(client_for, member_of, organization, nothing_stored):
    client = client_for(member_of(organization, BuiltinRole.VIEWER).user)
    response = post_job(client)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_editor_creates_a_job(client_for, member_of, organization):
    client = client_for(member_of(organization, BuiltinRole.EDITOR).user)
    assert post_job(client).status_code == 201


def test_anonymous_caller_cannot_list_or_create(api_client, organization, nothing_stored):
    assert api_client.get(jobs_url()).status_code in (401, 403)
    assert post_job(api_client).status_code in (401, 403)


def test_non_member_cannot_create_in_another_organization(
    client_for, member_of, organization, other_organization, nothing_stored
):
    outsider = client_for(member_of(other_organization, BuiltinRole.OWNER).user)
    response = post_job(outsider)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# --- List and read ---------------------------------------------------------------


def test_list_shows_only_this_organizations_jobs(owner_client, organization, other_organization):
    mine = FineTuningJobFactory(organization=organization)
    FineTuningJobFactory(organization=other_organization)
    response = owner_client.get(jobs_url())
    assert response.status_code == 200
    assert [job["id"] for job in response.json()["results"]] == [str(mine.pk)]


def test_list_filters_by_status_and_base_model(owner_client, organization):
    queued = FineTuningJobFactory(organization=organization, base_model="gpt-4o-mini")
    failed = FineTuningJobFactory(
        organization=organization, base_model="llama-3", status=Status.FAILED
    )
    FineTuningJobFactory(organization=organization, base_model="llama-3", status=Status.SUCCEEDED)

    def ids(**params):
        return [job["id"] for job in owner_client.get(jobs_url(), params).json()["results"]]

    assert ids(status="queued") == [str(queued.pk)]
    assert ids(status="failed", base_model="llama-3") == [str(failed.pk)]
    assert ids(base_model="llama") == []  # an exact match
    bad = owner_client.get(jobs_url(), {"status": "done"})
    assert "status" in details(bad)


def test_list_orders_by_created_at_and_status(owner_client, organization):
    first = FineTuningJobFactory(organization=organization, status=Status.SUCCEEDED)
    second = FineTuningJobFactory(organization=organization, status=Status.CANCELLED)
    third = FineTuningJobFactory(organization=organization, status=Status.FAILED)

    def ids(ordering=None):
        params = {"ordering": ordering} if ordering else {}
        return [job["id"] for job in owner_client.get(jobs_url(), params).json()["results"]]

    assert ids() == [str(third.pk), str(second.pk), str(first.pk)]  # newest first
    assert ids("created_at") == [str(first.pk), str(second.pk), str(third.pk)]
    assert ids("status") == [str(second.pk), str(third.pk), str(first.pk)]
    refused = owner_client.get(jobs_url(), {"ordering": "training_file"})
    assert "ordering" in details(refused)


def test_viewer_reads_jobs(client_for, member_of, organization):
    job = FineTuningJobFactory(organization=organization)
    client = client_for(member_of(organization, BuiltinRole.VIEWER).user)
    assert client.get(jobs_url()).json()["count"] == 1
    body = client.get(job_url(job)).json()
    assert body["id"] == str(job.pk)
    assert set(body) == RESPONSE_FIELDS


@pytest.mark.parametrize("rows", [5, 50])
def test_list_queries_are_constant(
    owner_client, organization, member_of, rows, django_assert_max_num_queries
):
    creators = [member_of(organization, BuiltinRole.EDITOR).user for _ in range(3)]
    for index in range(rows):
        FineTuningJobFactory(organization=organization, created_by=creators[index % 3])
    with django_assert_max_num_queries(4):
        response = owner_client.get(jobs_url(), {"page_size": 200})
    assert len(response.json()["results"]) == rows


def test_another_organizations_job_is_not_found(owner_client, other_organization, stored_files):
    job = FineTuningJobFactory(organization=other_organization)
    for method, url in (
        ("get", job_url(job)),
        ("delete", job_url(job)),
        ("post", f"{job_url(job)}cancel/"),
    ):
        response = getattr(owner_client, method)(url)
        assert response.status_code == 404, (method, url)
        assert response.json()["error"]["code"] == "not_found"
    job.refresh_from_db()
    assert job.status == Status.QUEUED
    assert len(stored_files()) == 1


def test_jobs_cannot_be_edited(owner_client, organization):
    job = FineTuningJobFactory(organization=organization)
    for method in ("put", "patch"):
        response = getattr(owner_client, method)(job_url(job), {"base_model": "other"})
        assert response.status_code == 405
    job.refresh_from_db()
    assert job.base_model == "gpt-4o-mini"


# --- Cancel ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.QUEUED, Status.VALIDATING, Status.RUNNING])
def test_cancel_an_unfinished_job(owner_client, organization, finished_signals, status):
    job = FineTuningJobFactory(organization=organization, status=status)
    response = owner_client.post(f"{job_url(job)}cancel/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["finished_at"] is not None
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert finished_signals == [(job.pk, "cancelled", "acme")]


@pytest.mark.parametrize("status", [Status.SUCCEEDED, Status.FAILED, Status.CANCELLED])
def test_cancel_a_finished_job_is_a_conflict(owner_client, organization, finished_signals, status):
    job = FineTuningJobFactory(organization=organization, status=status)
    response = owner_client.post(f"{job_url(job)}cancel/")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "job_finished"
    assert error["message"] == (
        f"This job has already finished ({status}); "
        "only a queued, validating or running job can be cancelled."
    )
    job.refresh_from_db()
    assert job.status == status
    assert finished_signals == []


@pytest.mark.parametrize(
    ("role", "expected"), [(BuiltinRole.EDITOR, 200), (BuiltinRole.VIEWER, 403)]
)
def test_cancel_needs_the_update_permission(client_for, member_of, organization, role, expected):
    job = FineTuningJobFactory(organization=organization)
    client = client_for(member_of(organization, role).user)
    assert client.post(f"{job_url(job)}cancel/").status_code == expected
    job.refresh_from_db()
    assert (job.status == Status.CANCELLED) is (expected == 200)


# --- Delete ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [Status.SUCCEEDED, Status.FAILED, Status.CANCELLED])
def test_delete_a_finished_job_removes_it_and_its_file(
    owner_client, organization, stored_files, django_capture_on_commit_callbacks, status
):
    job = FineTuningJobFactory(organization=organization, status=status)
    kept = FineTuningJobFactory(organization=organization, status=status)
    assert len(stored_files()) == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.delete(job_url(job))
    assert response.status_code == 204
    assert not FineTuningJob.objects.filter(pk=job.pk).exists()
    assert stored_files() == [kept.training_file.name]
    assert owner_client.get(job_url(job)).status_code == 404


@pytest.mark.parametrize("status", [Status.QUEUED, Status.VALIDATING, Status.RUNNING])
def test_delete_an_unfinished_job_asks_to_cancel_first(
    owner_client, organization, stored_files, status
):
    job = FineTuningJobFactory(organization=organization, status=status)
    response = owner_client.delete(job_url(job))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "job_active"
    assert error["message"] == f"This job is still {status}; cancel it before deleting it."
    assert FineTuningJob.objects.filter(pk=job.pk).exists()
    assert stored_files() == [job.training_file.name]


def test_cancel_then_delete(
    owner_client, create_job, stored_files, django_capture_on_commit_callbacks
):
    body = create_job(run=False)
    assert owner_client.post(f"{job_url(body)}cancel/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.delete(job_url(body)).status_code == 204
    assert stored_files() == []


@pytest.mark.parametrize(
    ("role", "expected"), [(BuiltinRole.EDITOR, 204), (BuiltinRole.VIEWER, 403)]
)
def test_delete_needs_the_delete_permission(client_for, member_of, organization, role, expected):
    job = FineTuningJobFactory(organization=organization, status=Status.SUCCEEDED)
    client = client_for(member_of(organization, role).user)
    assert client.delete(job_url(job)).status_code == expected
    assert FineTuningJob.objects.filter(pk=job.pk).exists() is (expected != 204)


def test_a_failed_job_can_be_read_with_its_error(owner_client, create_job):
    body = create_job(content=jsonl(GOOD, GOOD, '{"messages": []}'))
    shown = owner_client.get(job_url(body)).json()
    assert shown["status"] == "failed"
    assert shown["error"] == 'Line 3: "messages" must not be empty.'
    assert shown["validation_stats"] == {
        "is_valid": False,
        "error_line": 3,
        "examples_checked": 2,
    }
    assert shown["result"] == {}
