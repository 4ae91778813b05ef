"""Walk audit hash chains and report the first entry that was altered, removed or inserted."""

import gzip
import hmac
import json
import uuid
import zlib

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.audit.chain import ChainVerifier, chain_key_of, entry_from_archive, verify_chain
from apps.audit.models import PLATFORM_CHAIN, AuditChain, AuditEntry
from apps.audit.services import checkpoint_seal, latest_checkpoint
from apps.organizations.models import Organization


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chains (every organization's and the platform's, or one), "
        "and optionally retention archives. Exits 1 when any chain is broken."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--org",
            metavar="SLUG",
            help='One organization, by slug or id (also of a deleted one), or "platform".',
        )
        parser.add_argument(
            "--archive",
            nargs="+",
            metavar="FILE",
            help="Retention archives (.jsonl.gz) of one chain to verify, in any order.",
        )

    def handle(self, *args, org=None, archive=None, **options):
        if archive:
            self.verify_archives(archive)
            return
        foreign = [] if org is not None else self.foreign_heads()
        chains = [self.chain_of(org)] if org is not None else self.all_chains(foreign=foreign)
        broken = altered_at_start = 0
        for key in foreign:
            broken += 1
            self.stdout.write(
                f"{key[:40]!r}: BROKEN: a chain head whose key is neither an organization id nor "
                '"platform" (inserted)'
            )
        for organization_id, label, must_exist in chains:
            checked, chain_break = verify_chain(organization_id, must_exist=must_exist)
            if chain_break is None:
                self.stdout.write(f"{label}: OK, {checked} entries verified")
            else:
                broken += 1
                altered_at_start += checked == 0 and "(altered)" in chain_break.problem
                self.stdout.write(f"{label}: BROKEN at {chain_break} ({checked} verified before)")
        selected = chain_key_of(chains[0][0]) if org is not None else None
        broken += self.check_checkpoint(selected=selected)
        if broken and altered_at_start == len(chains):
            self.stdout.write(
                "Every chain breaks at its first entry: AUDIT_CHAIN_KEY is probably not the key "
                "the entries were written with."
            )
        if broken:
            raise CommandError(f"Audit log verification failed: {broken} chain(s) broken.")

    def chain_of(self, value: str) -> tuple:
        if not value.strip():
            raise CommandError('--org needs a slug, an organization id or "platform".')
        if value == PLATFORM_CHAIN:
            return None, PLATFORM_CHAIN, get_user_model().objects.exists()
        organization = Organization.objects.filter(slug=value).first()
        if organization is not None:
            return organization.pk, organization.slug, True
        try:
            organization_id = uuid.UUID(value)
        except ValueError:
            raise CommandError(f"No organization with slug {value[:60]!r}.") from None
        if not AuditChain.objects.filter(pk=str(organization_id)).exists():
            raise CommandError(f"No audit chain for organization {value}.")
        slug = Organization.objects.filter(pk=organization_id).values_list("slug", flat=True)
        return organization_id, slug.first() or f"{organization_id} (deleted organization)", False

    @staticmethod
    def foreign_heads() -> list[str]:
        """Keys of chain heads that name no chain at all (rows someone inserted)."""
        foreign = []
        for key in AuditChain.objects.values_list("key", flat=True):
            try:
                key == PLATFORM_CHAIN or uuid.UUID(key)
            except ValueError:
                foreign.append(key)
        return foreign

    def all_chains(self, *, foreign: list[str]) -> list[tuple]:
        """(organization id, label, must have entries) of every chain there is or should be.

        An existing organization's creation, and any user's, was recorded: their
        chains must exist, so emptying both tables does not pass for a clean log.
        """
        slugs = dict(Organization.objects.values_list("id", "slug"))
        keys = set(AuditChain.objects.values_list("key", flat=True))
        keys |= {str(pk) for pk in slugs}
        users_exist = get_user_model().objects.exists()
        if users_exist:
            keys.add(PLATFORM_CHAIN)
        keys |= {
            str(pk) if pk else PLATFORM_CHAIN
            for pk in AuditEntry.objects.order_by()
            .values_list("organization_id", flat=True)
            .distinct()
        }
        chains = []
        for key in sorted(keys - set(foreign)):
            if key == PLATFORM_CHAIN:
                chains.append((None, PLATFORM_CHAIN, users_exist))
            else:
                organization_id = uuid.UUID(key)
                label = slugs.get(organization_id, f"{key} (deleted organization)")
                chains.append((organization_id, label, organization_id in slugs))
        return chains

    def verify_archives(self, paths: list[str]) -> None:
        entries = [entry for path in paths for entry in self.read_archive(path)]
        if not entries:
            raise CommandError("The archives hold no entries.")
        if len({entry.chain_key for entry in entries}) > 1:
            raise CommandError("The archives belong to more than one chain; verify them apart.")
        entries.sort(key=lambda entry: entry.seq)
        first = entries[0]
        verifier = ChainVerifier(start_seq=first.seq - 1, start_hash=first.prev_hash)
        for entry in entries:
            if chain_break := verifier.check(entry):
                raise CommandError(f"Archive BROKEN at {chain_break}.")
        self.stdout.write(
            f"Archives OK: seq {first.seq}..{verifier.last_seq} of chain {first.chain_key}, "
            f"last hash {verifier.last_hash}"
        )
        head = AuditChain.objects.filter(pk=first.chain_key).first()
        if head is not None and head.base_seq == verifier.last_seq:
            matches = head.base_hash == verifier.last_hash
            self.stdout.write(
                "The kept entries start from this hash."
                if matches
                else "The chain's recorded base hash differs from the archives' last hash."
            )
            if not matches:
                raise CommandError("Archives and database disagree at the retention boundary.")

    def read_archive(self, path: str) -> list:
        """The entries of one archive; one clear error for anything that is not an archive."""
        try:
            with gzip.open(path, "rt", encoding="utf-8") as archive:
                lines = archive.read().splitlines()
        except (OSError, EOFError, ValueError, zlib.error) as exc:
            raise CommandError(f"Cannot read archive {path}: {exc}") from None
        entries = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise TypeError("not a JSON object")
                entries.append(entry_from_archive(record))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise CommandError(
                    f"Archive {path}, line {number}, is not an audit entry ({exc!r})."
                ) from None
        return entries

    def check_checkpoint(self, *, selected: str | None) -> int:
        """Hold the chains (or the `selected` one) to the newest checkpoint; return breaks.

        No chain may end before where the checkpoint saw it end. Without any
        checkpoint yet there is nothing to hold them to, and nothing is said.
        """
        try:
            found = latest_checkpoint()
        except (OSError, ValueError) as exc:
            self.stdout.write(f"checkpoint: BROKEN: the newest checkpoint cannot be read ({exc})")
            return 1
        if found is None:
            return 0
        name, body = found
        expected = checkpoint_seal(body)
        if not expected or not hmac.compare_digest(str(body.get("seal", "")), expected):
            self.stdout.write(f"checkpoint: BROKEN: {name} is not sealed with the chain key")
            return 1
        broken = 0
        for key, end in sorted(body["chains"].items()):
            if selected is not None and key != selected:
                continue
            if problem := self.checkpoint_problem(key, end):
                broken += 1
                self.stdout.write(f"{key}: BROKEN against checkpoint {name}: {problem}")
        if not broken:
            self.stdout.write(f"checkpoint: OK, no chain ends before {name}")
        return broken

    @staticmethod
    def checkpoint_problem(key: str, end: dict) -> str | None:
        head = AuditChain.objects.filter(pk=key).first()
        if head is None:
            return f"the chain had {end['seq']} entries then and is gone (removed)"
        if end["seq"] <= head.base_seq:
            return None  # retired by retention since; the archives hold it
        entry = (
            AuditEntry.objects.filter(
                organization_id=None if key == PLATFORM_CHAIN else key, seq=end["seq"]
            )
            .values_list("hash", flat=True)
            .first()
        )
        if entry != end["hash"]:
            return (
                f"entry seq {end['seq']}, as the checkpoint recorded it, is missing or different: "
                "entries after it were removed and the head rolled back"
            )
        return None
