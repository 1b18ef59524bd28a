/* Schema migrations for the store, in order: version v's SQL brings the
 * schema from v - 1 to v. Applied versions are recorded in
 * schema_migrations(version, applied_at); never edit a released version,
 * append a new one. */
#ifndef VG_STORE_MIGRATIONS_H
#define VG_STORE_MIGRATIONS_H

/* Highest schema version this build knows. */
unsigned store_migration_latest(void);

/* SQL (SQLite dialect, one or more statements) for version 1..latest, or
 * NULL for any other version. */
const char *store_migration_sql(unsigned version);
#endif
