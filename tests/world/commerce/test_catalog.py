"""Catalogs as data: what a valid catalog holds, and bad ones refused with the field named."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from world.commerce.catalog import Catalog


def catalog(**product: Any) -> dict[str, Any]:
    base = {"id": "tee", "name": "Tee", "price": 30.0, "variants": [{"id": "black-m", "size": "M", "stock": 5}]}
    return {"products": [{**base, **product}]}


def refused(data: dict[str, Any]) -> list[tuple[tuple[int | str, ...], str]]:
    """The (field path, error type) pairs a bad catalog is refused with."""
    with pytest.raises(ValidationError) as err:
        Catalog.model_validate(data)
    return [(tuple(e["loc"]), e["type"]) for e in err.value.errors()]


def test_a_valid_catalog_finds_its_products_and_fills_in_defaults() -> None:
    cat = Catalog.model_validate({**catalog(), "faq": [{"q": "Returns?", "a": "30 days."}]})
    tee = cat.product("tee")
    assert tee is not None and tee.currency == "EUR" and tee.variants[0].stock == 5 and tee.booth is None
    assert cat.product("nope") is None and cat.faq[0].a == "30 days."
    assert cat.assistant.threshold == 0.6 and Catalog().products == []


@pytest.mark.parametrize(("change", "loc", "kind"), [
    ({"price": -1}, ("products", 0, "price"), "greater_than_equal"),
    ({"price": "cheap"}, ("products", 0, "price"), "float_parsing"),
    ({"price": float("nan")}, ("products", 0, "price"), "finite_number"),
    ({"id": "Tee Shirt"}, ("products", 0, "id"), "string_pattern_mismatch"),
    ({"name": ""}, ("products", 0, "name"), "string_too_short"),
    ({"currency": "eur"}, ("products", 0, "currency"), "string_pattern_mismatch"),
    ({"colour": "red"}, ("products", 0, "colour"), "extra_forbidden"),
    ({"variants": [{"id": "Black M"}]}, ("products", 0, "variants", 0, "id"), "string_pattern_mismatch"),
    ({"variants": [{"id": "m", "stock": -1}]}, ("products", 0, "variants", 0, "stock"), "greater_than_equal"),
    ({"variants": [{"id": "m", "hex": "red"}]}, ("products", 0, "variants", 0, "hex"), "string_pattern_mismatch"),
    ({"faq": [{"q": "?", "a": "x"}]}, ("products", 0, "faq", 0, "q"), "string_too_short"),
])
def test_a_bad_product_is_refused_naming_the_field(change: dict[str, Any], loc: tuple[Any, ...], kind: str) -> None:
    assert refused(catalog(**change)) == [(loc, kind)]


def test_bad_assistant_settings_and_unknown_top_level_keys_are_refused() -> None:
    assert refused({"assistant": {"threshold": 1.5}}) == [(("assistant", "threshold"), "less_than_equal")]
    assert refused({"shop": []}) == [(("shop",), "extra_forbidden")]


def test_duplicate_product_ids_are_refused() -> None:
    with pytest.raises(ValidationError, match="tee"):
        Catalog.model_validate({"products": catalog()["products"] * 2})


def test_duplicate_variant_ids_are_refused() -> None:
    with pytest.raises(ValidationError, match="black-m"):
        Catalog.model_validate(catalog(variants=[{"id": "black-m", "stock": 1}, {"id": "black-m", "stock": 9}]))


def test_an_infinite_price_is_refused() -> None:
    data = json.loads('{"products": [{"id": "tee", "name": "Tee", "price": Infinity}]}')
    assert refused(data) and refused(data)[0][0] == ("products", 0, "price")
