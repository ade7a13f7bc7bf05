"""GraphQL request errors in Chinese: what graphql-core says of a document or its variables
(a syntax error, an unknown field or enum value, a missing or unknown argument, a value of
the wrong type) is what a front end shows its user. Each such error gets a Chinese message
with graphql-core's English in parentheses, as every message of this server reads, and a
code: ``GRAPHQL_PARSE_FAILED`` (syntax), ``BAD_USER_INPUT`` (the variables' values),
``GRAPHQL_VALIDATION_FAILED`` (the document against the schema).

Errors that already carry a code (the query limits, the resolvers' refusals) and errors of a
field's execution (they have a path) are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from graphql import GraphQLError

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"


def _suggest(found: re.Match) -> str:
    """graphql-core's "Did you mean …?" in Chinese."""
    suggestion = found.groupdict().get("suggestion")
    return f"，是否想用 {suggestion}？" if suggestion else ""


_SUGGESTION = r"(?: Did you mean (?P<suggestion>.+)\?)?"
#: (graphql-core's message, its Chinese), tried in order; a Chinese text may itself say in
#: Chinese what follows a semicolon in the English (``rest``).
_TEXTS: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [
    (re.compile(r"Syntax Error: (?P<what>.+)", re.S), lambda m: f"语法错误：{m['what']}"),
    (re.compile(r"Variable '\$(?P<variable>\w+)' has invalid (?P<default>default )?value(?: at (?P<at>\S+))?: (?P<rest>.+)", re.S),
     lambda m: f"变量 ${m['variable']}" + (f" 的 {m['at'].lstrip('.')}" if m["at"] else "") + ("的默认值" if m["default"] else "")
     + f" 取值无效：{_chinese(m['rest'])}"),
    (re.compile(r"Value '(?P<value>.+?)' does not exist in '(?P<type>\w+)' enum\." + _SUGGESTION),
     lambda m: f"{m['type']} 中没有取值 {m['value']}" + _suggest(m)),
    (re.compile(r"Argument '(?P<field>[\w.@]+)\((?P<argument>\w+):\)' of type '(?P<type>.+)' is required, but it was not provided\."),
     lambda m: f"{m['field']} 缺少必填参数 {m['argument']}（类型 {m['type']}）"),
    (re.compile(r"Unknown argument '(?P<argument>\w+)' on (?:field|directive) '(?P<field>[\w.@]+)'\." + _SUGGESTION),
     lambda m: f"{m['field']} 没有参数 {m['argument']}" + _suggest(m)),
    (re.compile(r"Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'\." + _SUGGESTION),
     lambda m: f"类型 {m['type']} 没有字段 {m['field']}" + _suggest(m)),
    (re.compile(r"Expected a value of non-null type '(?P<type>.+)' to be provided\."), lambda m: f"缺少必填的值（类型 {m['type']}）"),
    (re.compile(r"Expected (?:value|variable '\$\w+' provided to) (?:of )?non-null type '(?P<type>.+)' not to be None\."),
     lambda m: f"{m['type']} 类型的值不能为 null"),
    (re.compile(r"Expected value of type '(?P<type>.+?)' to include required field '(?P<field>\w+)', found: .+", re.S),
     lambda m: f"{m['type']} 缺少必填字段 {m['field']}"),
    (re.compile(r"Expected value of type '(?P<type>.+?)' not to include unknown field '(?P<field>\w+)'.*", re.S),
     lambda m: f"{m['type']} 没有字段 {m['field']}"),
    (re.compile(r"Expected value of type '(?P<type>.+?)' to be an object, found: .+", re.S), lambda m: f"{m['type']} 的值应为对象"),
    (re.compile(r"Expected value of type '(?P<type>.+?)'(?:, but encountered error '(?P<error>.+)'; found|, found): (?P<found>.+)", re.S),
     lambda m: f"应为 {m['type']} 类型的值，实际为 {m['found'].rstrip('.')}" + (f"：{_chinese(m['error'])}" if m["error"] else "")),
    (re.compile(r"(?P<type>Int|Float|String|Boolean|ID) cannot represent .+", re.S), lambda m: f"{m['type']} 类型不能表示该值"),
    (re.compile(r"Field '(?P<field>[\w.]+)' of required type '(?P<type>.+)' was not provided\."),
     lambda m: f"缺少必填的输入字段 {m['field']}（类型 {m['type']}）"),
    (re.compile(r"Unknown type '(?P<type>\w+)'\." + _SUGGESTION), lambda m: f"未知的类型 {m['type']}" + _suggest(m)),
    (re.compile(r"Variable '\$(?P<variable>\w+)' is not defined(?: by operation '\w+')?\."), lambda m: f"变量 ${m['variable']} 未定义"),
    (re.compile(r"Variable '\$(?P<variable>\w+)' is never used(?: in operation '\w+')?\."), lambda m: f"变量 ${m['variable']} 未被使用"),
    (re.compile(r"Field '(?P<field>\w+)' must not have a selection since type '(?P<type>.+)' has no subfields\."),
     lambda m: f"字段 {m['field']}（类型 {m['type']}）没有子字段，不能选择子字段"),
    (re.compile(r"Field '(?P<field>\w+)' of type '(?P<type>.+)' must have a selection of subfields\..*", re.S),
     lambda m: f"字段 {m['field']}（类型 {m['type']}）须选择子字段"),
    (re.compile(r"Unknown fragment '(?P<name>\w+)'\."), lambda m: f"未知的片段 {m['name']}"),
    (re.compile(r"Unknown operation named '(?P<name>.+)'\."), lambda m: f"没有名为 {m['name']} 的操作"),
    (re.compile(r"Must provide operation name if query contains multiple operations\."), lambda m: "请求中有多个操作，请指明 operationName"),
]


def _chinese(english: str) -> str:
    """The Chinese of one graphql-core message, or the English when it is none of them."""
    for pattern, text in _TEXTS:
        if found := pattern.fullmatch(english.strip()):
            return text(found)
    return english


def _code(english: str) -> str:
    if english.startswith("Syntax Error"):
        return PARSE_FAILED
    if re.match(r"Variable '\$\w+' has invalid value", english):
        return BAD_USER_INPUT
    return VALIDATION_FAILED


def in_chinese(error: GraphQLError) -> None:
    """Give a request error, in place, its Chinese message and its code."""
    original = error.original_error
    if error.path or (error.extensions or {}).get("code") or not (original is None or isinstance(original, GraphQLError)):
        return  # a field's error, or one of ours, or one that is to be masked
    english = error.message
    chinese = _chinese(english)
    if chinese != english:
        error.message = f"{chinese} ({english})"
    error.extensions = {**(error.extensions or {}), "code": _code(english)}
