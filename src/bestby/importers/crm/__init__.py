"""Importers of CRM exports (Salesforce, HubSpot, Pipedrive, any CSV with a mapping file).

Every importer is a pure *mapper* from the source's files to the FORMAT.md
tables (``out.Out``), plus the ``findings.Findings`` it made on the way (rows it
could not map, values it had to decide), and then one shared *runner*
(``run.import_mapped``) that sends the tables through the same validated,
atomic, idempotent path as ``bestby import canonical``: nothing is written when
any problem remains, and every problem names the source file, line and column.
"""
