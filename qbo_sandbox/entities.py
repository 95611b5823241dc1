"""The Company: every concern of one realm together, and the seeding of a new realm."""

from __future__ import annotations

from qbo_sandbox import reference_data, sample_company, seed
from qbo_sandbox.batch import BatchMixin
from qbo_sandbox.planting import PlantingMixin
from qbo_sandbox.store import Realm
from qbo_sandbox.values import company_today


class Company(BatchMixin, PlantingMixin):
    """Operations on one realm. The caller holds the store lock."""

    @staticmethod
    def seed(realm: Realm) -> None:
        """Fill a new realm: the lists company, or Intuit's sample company with its transactions."""
        company = Company(realm)
        sample = realm.profile == "sample"
        name = realm.company_name or (sample_company.COMPANY_NAME if sample else seed.COMPANY_NAME)
        realm.company_name = name
        preferences = sample_company.preferences() if sample else seed.preferences(name)
        preferences["CurrencyPrefs"]["MultiCurrencyEnabled"] = realm.multicurrency
        realm.table("Preferences")["1"] = company._stamp_new("Preferences", preferences, row_id="1")
        realm.table("CompanyInfo")["1"] = company._stamp_new("CompanyInfo", seed.company_info(name), row_id="1")
        today = company_today()
        reference = {**reference_data.tax_rows(), **reference_data.currency_rows(realm.multicurrency, str(today))}
        for entity, rows in reference.items():
            for row in rows:
                key = reference_data.exchange_rate_key(row) if entity == "ExchangeRate" else row["Id"]
                realm.table(entity)[key] = row
                realm.reserve_id(entity, key)
        if sample:
            for entity, row_id, body in sample_company.lists():
                company.create(entity, body, row_id=row_id)
            for entity, row_id in sample_company.inactive():
                token = realm.must(entity, row_id)["SyncToken"]
                company.update(entity, {"Id": row_id, "SyncToken": token, "sparse": True, "Active": False})
            sample_company.seed_transactions(lambda entity, body: company.create(entity, body), today)
            return
        for entity, bodies in seed.seed_rows().items():
            for body in bodies:
                company.create(entity, body)

