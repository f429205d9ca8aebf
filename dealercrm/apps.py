from django.apps import AppConfig


class DealercrmConfig(AppConfig):
    name = "dealercrm"
    verbose_name = "Dealership"
