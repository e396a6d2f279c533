"""Who a visitor is (issue 14, docs/identity.md): a device identity the server issues (a
signed cookie, or a signed token for clients without cookies), a brand's signed-in customer
(SSO by a signed link), the network address it connects from (behind trusted proxies), and
the moderation, limits and privacy rules that hold on them rather than on a connection.
"""
