"""Seed the benchmark database and print one session cookie per scenario, as JSON.

Organization "bench" with AGENTS agents (each with two tools), and three callers:
- owner: reads every agent through the role (permission checked, list not narrowed by grants);
- granted: a custom role without agents:read, holding a read grant on every other agent
  (the list is narrowed through the grant tables: the permission-filtered list);
- the unchecked baseline needs no caller;
- and the Owner's API key (scope agents:read) and JWT access token, for the same list.
"""

import json
import os
import sys

import django

AGENTS = int(os.environ.get("BENCH_AGENTS", "200"))


def main():
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()

    from django.contrib.auth.models import Permission
    from django.test import Client

    from apps.access.policy import member_access
    from apps.access.services import role_create
    from apps.accounts.models import User
    from apps.agents.models import Agent, AgentUserGrant
    from apps.apikeys.services import api_key_create
    from apps.authn.tokens import token_pair_for
    from apps.organizations.models import Membership
    from apps.organizations.services import organization_create
    from apps.tools.models import Tool

    owner = User.objects.create_user("bench-owner@agentry.test", "bench-password-1234")
    granted = User.objects.create_user("bench-granted@agentry.test", "bench-password-1234")
    organization = organization_create(name="Bench", slug="bench", created_by=owner)
    tools = Tool.objects.bulk_create(
        Tool(organization=organization, name=f"tool_{i}", kind="function") for i in range(10)
    )
    agents = Agent.objects.bulk_create(
        Agent(organization=organization, name=f"agent {i:04d}", model_name="gpt-4o-mini")
        for i in range(AGENTS)
    )
    through = Agent.tools.through
    through.objects.bulk_create(
        through(agent_id=agent.pk, tool_id=tools[i % 10].pk) for i, agent in enumerate(agents)
    )
    access = member_access(user=owner, organization_slug="bench")
    role = role_create(access=access, key="grantee", name="Grantee", permissions=["tools:read"])
    Membership.objects.create(organization=organization, user=granted, role=role)
    read = Permission.objects.get(codename="agents:read", content_type__app_label="agents")
    AgentUserGrant.objects.bulk_create(
        AgentUserGrant(user=granted, permission=read, content_object=agent) for agent in agents[::2]
    )

    credentials = {}
    for name, user in (("owner", owner), ("granted", granted)):
        client = Client()
        client.force_login(user)
        credentials[name] = client.cookies["sessionid"].value
    _key, secret = api_key_create(
        access=member_access(user=owner, organization_slug="bench"),
        name="bench",
        scopes=["agents:read"],
    )
    credentials["api_key"] = secret
    credentials["jwt"] = token_pair_for(owner)["access"]
    print(json.dumps(credentials))


if __name__ == "__main__":
    main()
