from django.apps import AppConfig
from django.db.backends.signals import connection_created


class DealercrmConfig(AppConfig):
    name = "dealercrm"
    verbose_name = "Dealership"

    def ready(self):
        from dealercrm.aggregates import median_register

        connection_created.connect(median_register, dispatch_uid="dealercrm-median")
