"""Catalogs as data: a room's products and its FAQ (``assets/catalogs/<room id>.json``).

Prices are in the catalog's currency, as decimal numbers (the wire carries them as they are).
The assistant bot answers from these; the commerce features (issue 5) sell from them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


def _unique(ids: list[str], what: str) -> None:
    """The shop finds products and variants by id: a second one with the same id would never be reached."""
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"{what} id {i!r} is used twice")
        seen.add(i)


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")
    color: str | None = Field(default=None, max_length=40)
    size: str | None = Field(default=None, max_length=16)
    hex: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$", description="shown on the avatar")
    stock: int = Field(default=0, ge=0)


class FAQ(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str = Field(min_length=3, max_length=300)
    a: str = Field(min_length=1, max_length=1000)


class Product(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")
    name: str = Field(min_length=1, max_length=80)
    price: float = Field(ge=0, allow_inf_nan=False)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    description: str = Field(default="", max_length=1000)
    booth: str | None = Field(default=None, description="the scene zone or stand that shows it")
    tags: list[str] = []
    variants: list[Variant] = []
    faq: list[FAQ] = []

    @field_validator("variants")
    @classmethod
    def _variant_ids(cls, variants: list[Variant]) -> list[Variant]:
        _unique([v.id for v in variants], "variant")
        return variants


class Assistant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "Vetrina assistant"
    threshold: float = Field(default=0.6, ge=0, le=1, description="below this the bot hands over to staff")


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    products: list[Product] = []
    faq: list[FAQ] = []
    assistant: Assistant = Assistant()

    @field_validator("products")
    @classmethod
    def _product_ids(cls, products: list[Product]) -> list[Product]:
        _unique([p.id for p in products], "product")
        return products

    def product(self, product_id: str) -> Product | None:
        return next((p for p in self.products if p.id == product_id), None)
