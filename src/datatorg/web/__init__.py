"""The web shell: layout, templates, i18n, CSRF, security headers, error pages."""
