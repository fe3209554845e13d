from decimal import Decimal

from charging.models import ChargePoint, CurrentType, Site

SITES = {
    "demo": [
        ("Vesterbro Parking", "Vesterbrogade 10", "1620", "København V", "55.672800", "12.554300"),
        ("Aarhus Havn", "Havnegade 4", "8000", "Aarhus C", "56.153900", "10.214500"),
        ("Odense Station", "Østre Stationsvej 27", "5000", "Odense C", "55.401900", "10.386700"),
        ("Roskilde Retail Park", "Københavnsvej 45", "4000", "Roskilde", "55.641600", "12.107600"),
    ],
    "nordlys": [
        ("Aker Brygge", "Stranden 3", "0250", "Oslo", "59.910500", "10.726700"),
        ("Bergen Sentrum", "Strandkaien 2", "5013", "Bergen", "60.394400", "5.324500"),
    ],
}
# site index, count, AC/DC, kW, brand, model
POINTS = {
    "demo": [(0, 8, CurrentType.AC, "22", "Zaptec", "Pro"), (1, 6, CurrentType.DC, "150", "Kempower", "S-Series"),
             (2, 6, CurrentType.AC, "11", "Easee", "Charge"), (3, 5, CurrentType.DC, "60", "Alpitronic", "HYC50")],
    "nordlys": [(0, 4, CurrentType.AC, "22", "Zaptec", "Go"), (1, 3, CurrentType.DC, "120", "ABB", "Terra 124")],
}
STATES = ["available"] * 6 + ["busy-charging", "busy-charging", "error", "maintenance"]


def seed(ctx):
    for slug, sites in SITES.items():
        operator = ctx["operators"][slug]
        site_objs = []
        for name, street, postcode, city, lat, lng in sites:
            site, _ = Site.objects.get_or_create(
                operator=operator, name=name,
                defaults=dict(street=street, postcode=postcode, city=city, country=operator.country,
                              latitude=Decimal(lat), longitude=Decimal(lng)),
            )
            site_objs.append(site)
        n = 0
        for site_index, count, kind, kw, brand, model in POINTS[slug]:
            for _ in range(count):
                n += 1
                evse = f"{operator.country}*{slug[:3].upper()}*E{n:05d}"
                ChargePoint.objects.get_or_create(
                    operator=operator, evse_id=evse,
                    defaults=dict(site=site_objs[site_index], name=f"{site_objs[site_index].name} #{n}",
                                  serial_number=f"{brand[:3].upper()}-{slug.upper()}-{n:05d}",
                                  brand_name=brand, model_name=model, type=kind, max_kw=Decimal(kw),
                                  state=STATES[n % len(STATES)]),
                )
