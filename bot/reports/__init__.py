"""CSV reports (SPEC 2, 4): the same tables in Slack (`/license report`) and on the
command line (`licensebot report`)."""
