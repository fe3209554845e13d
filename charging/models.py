"""The operator's charging network, shaped after the partner API's Site and ChargePoint schemas
(field names and states as in `partner-api-v2024-01-18.openapi.yaml`)."""
from django.db import models
from django.db.models import Q


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private"
    PUBLIC = "public", "Public"


class CurrentType(models.TextChoices):
    AC = "ac", "AC"
    DC = "dc", "DC"


class Site(models.Model):
    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=200)
    street = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class ChargePoint(models.Model):
    class State(models.TextChoices):  # ChargePointState (lower-case forms)
        AVAILABLE = "available", "Available"
        BUSY = "busy", "Busy"
        BUSY_CHARGING = "busy-charging", "Busy (charging)"
        ERROR = "error", "Error"
        DISCONNECTED = "disconnected", "Disconnected"
        PASSIVE = "passive", "Passive"
        MAINTENANCE = "maintenance", "Maintenance"
        OTHER = "other", "Other"

    operator = models.ForeignKey("operators.Operator", on_delete=models.CASCADE, related_name="charge_points")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="charge_points")
    name = models.CharField(max_length=200)
    serial_number = models.CharField(max_length=100, blank=True)
    evse_id = models.CharField("EVSE id", max_length=48, blank=True)
    brand_name = models.CharField(max_length=100, blank=True)
    model_name = models.CharField(max_length=100, blank=True)
    type = models.CharField(max_length=2, choices=CurrentType.choices, default=CurrentType.AC)
    max_kw = models.DecimalField("max kW", max_digits=7, decimal_places=2, null=True, blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    state = models.CharField(max_length=20, choices=State.choices, default=State.AVAILABLE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "evse_id"], condition=~Q(evse_id=""), name="charge_point_unique_evse"
            ),
        ]

    def __str__(self):
        return self.name
