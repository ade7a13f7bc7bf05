"""DataLoaders are named and made on first use: a request builds the loaders it uses, once."""

from __future__ import annotations

from types import SimpleNamespace

from resolvers import loaders
from resolvers.loaders import AccountByIdLoader, InstitutionByIdLoader, Loader


async def test_a_loader_is_made_once_per_request_context():
    context = SimpleNamespace(loaders={}, sessionmaker=None, viewer=None)
    first = InstitutionByIdLoader(context)
    assert InstitutionByIdLoader(context) is first
    assert AccountByIdLoader(context) is not first
    assert set(context.loaders) == {InstitutionByIdLoader, AccountByIdLoader}
    other = SimpleNamespace(loaders={}, sessionmaker=None, viewer=None)
    assert InstitutionByIdLoader(other) is not first


async def test_a_request_makes_only_the_loaders_it_uses(gql, demo, monkeypatch):
    made: list[type] = []
    original = Loader.__new__

    def recording(cls, context):
        if cls not in context.loaders:
            made.append(cls)
        return original(cls, context)

    monkeypatch.setattr(loaders.Loader, "__new__", recording)
    token = await gql.login("edu-440106")
    made.clear()
    assert (await gql("{ me { username } }", token=token))["data"] == {"me": {"username": "edu-440106"}}
    assert made == [AccountByIdLoader]
    made.clear()
    await gql('{ region(code: "440106") { name parent { name } children { code } } }', token=token)
    assert sorted(c.__name__ for c in made) == ["RegionByCodeLoader", "RegionChildrenLoader"]
