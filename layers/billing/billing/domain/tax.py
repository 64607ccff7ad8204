"""Which VAT applies to a customer: French rate, EU reverse charge, or export of services."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
    "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})


@dataclass(frozen=True)
class TaxTreatment:
    category: str  # EN 16931 VAT category: S standard, AE reverse charge, G export
    rate: Decimal
    mention: dict[str, str] | None = None  # the legal mention printed on the invoice, by language

    def mention_for(self, locale: str) -> str | None:
        return self.mention and self.mention["fr" if locale.startswith("fr") else "en"]


REVERSE_CHARGE = {"fr": "Autoliquidation", "en": "Reverse charge — Article 196 of Council Directive 2006/112/EC"}
EXPORT = {"fr": "Exonération de TVA — prestation de services hors UE (article 259-1 du CGI)",
          "en": "VAT exempt — export of services outside the EU (Article 44 of Council Directive 2006/112/EC)"}


def treatment(country: str, vat_number: str | None, standard_rate: Decimal, seller_country: str = "FR") -> TaxTreatment:
    """France and EU consumers pay the standard rate; an EU business elsewhere with a VAT number self-assesses
    (reverse charge); a customer outside the EU pays no VAT (export of services)."""
    country = country.upper()
    if country == seller_country or (country in EU_COUNTRIES and not vat_number):
        return TaxTreatment("S", standard_rate)
    if country in EU_COUNTRIES:
        return TaxTreatment("AE", Decimal(0), REVERSE_CHARGE)
    return TaxTreatment("G", Decimal(0), EXPORT)
