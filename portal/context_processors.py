from portal.navigation import navigation_for, operator_url


def shell(request):
    """What the layout needs: the operator switcher and the left menu for the current operator.
    One query for the switcher, none for the menu (permissions come from the tenancy layer)."""
    context = {"portal_name": "CPO Portal"}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    operator = getattr(request, "operator", None)
    context["current_operator"] = operator

    def switcher():
        from portal.tenancy import active_memberships

        memberships = getattr(request, "my_memberships", None)  # read once by the tenancy layer
        return [
            {"name": m.operator.name, "slug": m.operator.slug, "role": m.get_role_display(),
             "url": operator_url("operators:overview", m.operator.slug)}
            for m in (memberships if memberships is not None else active_memberships(user))
        ]

    context["my_operators"] = switcher  # evaluated lazily by the template, once
    if operator is not None:
        context["op_perms"] = request.operator_perms
        context["membership"] = request.membership
        context["nav"] = navigation_for(request)
    return context
