"""The only package that talks to QuickBooks (python-quickbooks, intuit-oauth): gateway, OAuth, token store."""
