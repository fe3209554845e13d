"""Build OCPI 2.2.1 CDRs for tests and the benchmark."""
from datetime import UTC, datetime, timedelta


def cdr(cdr_id, evse_id, *, currency="DKK", excl=80.00, incl=100.00, kwh=20.5,
        start=datetime(2026, 3, 2, 8, 0, tzinfo=UTC), minutes=90, **extra):
    data = {
        "country_code": "DK", "party_id": "TST", "id": cdr_id,
        "start_date_time": start.isoformat().replace("+00:00", "Z"),
        "end_date_time": (start + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
        "cdr_token": {"country_code": "DE", "party_id": "TNM", "uid": "012345678", "type": "RFID",
                      "contract_id": "DE8ACC12E46L89"},
        "auth_method": "WHITELIST",
        "cdr_location": {"id": "LOC1", "address": "Havnegade 4", "city": "Aarhus", "country": "DNK",
                         "coordinates": {"latitude": "56.153900", "longitude": "10.214500"},
                         "evse_uid": evse_id, "evse_id": evse_id, "connector_id": "1",
                         "connector_standard": "IEC_62196_T2", "connector_format": "SOCKET",
                         "connector_power_type": "AC_3_PHASE"},
        "currency": currency,
        "total_cost": {"excl_vat": excl, "incl_vat": incl},
        "total_energy": kwh, "total_time": minutes / 60,
        "last_updated": (start + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
    }
    data.update(extra)
    return data
