"""The sandboxed template language and response paths."""

from __future__ import annotations

import pytest

from any2api.providers.httpapi.paths import PathError, compile_path, get_first, get_path
from any2api.providers.httpapi.template import OMIT, TemplateError, compile_template

NAMES = frozenset({"model", "temperature", "stop", "messages", "account", "meta", "n"})


def render(tpl, **ctx):
    return compile_template(tpl, NAMES)(ctx)


def test_whole_value_expressions_keep_their_type():
    msgs = [{"role": "user", "content": "hi"}]
    assert render({"m": "{{ messages }}", "t": "{{ temperature }}"}, messages=msgs, temperature=0.5) == {
        "m": msgs,
        "t": 0.5,
    }


def test_unset_values_are_left_out_recursively():
    tpl = {"model": "{{ model }}", "options": {"temperature": "{{ temperature }}"}, "list": ["{{ stop }}", 1]}
    assert render(tpl, model="x") == {"model": "x", "list": [1]}
    assert render({"keep": {}}) == {"keep": {}}  # an empty mapping written as such stays
    assert render("{{ model }}") is OMIT


def test_interpolation_and_filters():
    assert render("Bearer {{ account.api_key }}", account={"api_key": "k"}) == "Bearer k"
    assert render("Bearer {{ account.api_key }}", account={}) is OMIT
    assert render("{{ temperature | default(0.7) }}") == 0.7
    assert render("t={{ temperature | default('none') }}") == "t=none"
    assert render("{{ stop | join(',') }}", stop=["a", "b"]) == "a,b"
    assert render("{{ meta | json }}", meta={"a": [1]}) == '{"a":[1]}'
    assert render("x{{ meta }}", meta={"a": 1}) == 'x{"a":1}'
    assert render("{{ model | upper | trim }}", model=" gpt ") == "GPT"
    assert render("{{ n | int }}", n="42") == 42
    assert render("{{ n | float }}", n="2") == 2.0
    assert render("{{ n | bool }}", n="yes") is True
    assert render("{{ n | str }}", n=True) == "true"
    assert render("{{ messages[0].content }}", messages=[{"content": "c"}]) == "c"
    assert render("{{ messages[-1]['content'] }}", messages=[{"content": "a"}, {"content": "b"}]) == "b"
    assert render("{{ messages.5 }}", messages=[]) is OMIT
    assert render("{{ account.api_key | b64 }}", account={"api_key": "u:p"}) == "dTpw"
    assert render("{{ model | urlencode }}", model="a b/c") == "a%20b%2Fc"
    assert render("{{ model | omit_empty }}", model="") is OMIT
    assert render("{{ messages | first }}", messages=[1, 2]) == 1
    assert render("{{ messages | last }}", messages=[1, 2]) == 2
    assert render('{{ "lit\\"eral" }}') == 'lit"eral'


def test_literals():
    assert render("{{ true }}") is True
    assert render("{{ 3 }}") == 3
    assert render("{{ -1.5e1 }}") == -15.0
    assert render("{{ null | default('d') }}") == "d"
    assert render("{{ 'a\\'b' }}") == "a'b"


def test_constant_templates_are_precomputed_and_shared():
    r = compile_template({"a": [1, {"b": "c"}]}, NAMES)
    assert r({}) is r({"model": "x"})


@pytest.mark.parametrize(
    ("tpl", "where", "needle"),
    [
        ("{{ }}", "", "empty expression"),
        ("{{ model | }}", "", "ends too early"),
        ("{{ model model }}", "", "unexpected"),
        ("{{ model.__class__ }}", "", None),  # a plain key lookup: allowed, and yields nothing
        ({"a": ["{{ x }}"]}, ".a[0]", "unknown variable 'x'"),
        ("{{ model | join(model) }}", "", "must be literals"),
        ("{{ model ? 1 }}", "", "cannot read"),
        ("{{ model }} {{", "", "unclosed"),
    ],
)
def test_compile_errors(tpl, where, needle):
    if needle is None:
        assert compile_template(tpl, NAMES)({"model": "m"}) is OMIT
        return
    with pytest.raises(TemplateError) as e:
        compile_template(tpl, NAMES)
    assert e.value.where == where
    assert needle in e.value.message


def test_no_code_runs():
    # attribute access on Python objects is not a thing: only dict/list lookups
    r = compile_template("{{ account.api_key }}", NAMES)
    assert r({"account": object()}) is OMIT


@pytest.mark.parametrize(
    ("src", "path"),
    [
        ("choices[0].delta.content", ("choices", 0, "delta", "content")),
        ("choices.0.delta", ("choices", 0, "delta")),
        ("$.a.b", ("a", "b")),
        ("$", ()),
        ('a["x.y"]', ("a", "x.y")),
        ("a['k']", ("a", "k")),
        ("items[-1]", ("items", -1)),
    ],
)
def test_paths(src, path):
    assert compile_path(src) == path


def test_path_lookup():
    v = {"choices": [{"delta": {"content": "hi"}}], "0": "zero", "a": {"x.y": 1}}
    assert get_path(v, compile_path("choices[0].delta.content")) == "hi"
    assert get_path(v, compile_path("choices[5].delta")) is None
    assert get_path(v, compile_path("$[0]")) == "zero"  # an index into a mapping is its string key
    assert get_path(v, compile_path('a["x.y"]')) == 1
    assert get_path("text", ()) == "text"
    assert get_first(v, (compile_path("nope"), compile_path("choices[0].delta.content"))) == "hi"


@pytest.mark.parametrize("src", ["a..b", "a[", "a[x]", "a b"])
def test_bad_paths(src):
    with pytest.raises(PathError):
        compile_path(src)
