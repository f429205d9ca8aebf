"""Permission checks that do not cost two queries on every request."""

from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache

# A change of role (`staff_set_role`) clears a person's entry at once; a group's permissions
# edited in the admin take effect within this many seconds.
PERMISSIONS_CACHE_SECONDS = 60


def permissions_cache_key(user_id):
    return f"dealercrm:permissions:{user_id}"


class CachedPermissionsBackend(ModelBackend):
    """Django's ModelBackend, with each user's permission set kept in the cache between
    requests: every page and API call checks a capability, and the set changes rarely."""

    def get_all_permissions(self, user_obj, obj=None):
        if obj is not None or not user_obj.is_active or user_obj.is_anonymous:
            return super().get_all_permissions(user_obj, obj)
        key = permissions_cache_key(user_obj.pk)
        permissions = cache.get(key)
        if permissions is None:
            permissions = super().get_all_permissions(user_obj)
            cache.set(key, permissions, PERMISSIONS_CACHE_SECONDS)
        return permissions
