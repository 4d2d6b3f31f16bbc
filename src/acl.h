/*
 * acl: who a client is and what it may do, for every door (RESP, HTTP).
 *
 * Redis 6's conventions with two roles: the user "default" is
 * requirepass's (an admin; without requirepass every client is it), the
 * config's "users" add named readers and admins. Passwords are compared
 * by their SHA-256, in constant time; they and their hashes are never
 * logged or shown.
 *
 * A client keeps a struct acl_id. A SIGHUP that changes the users moves
 * the generation on; a door calls acl_refresh() before the next request
 * of a named user, which takes the user's new role, or says the user was
 * removed (the door then closes the client, as Redis does).
 */
#ifndef SEQD_ACL_H
#define SEQD_ACL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define ACL_DEFAULT_USER "default"

struct acl_id {
    char user[CONFIG_USER_NAME_MAX + 1];    /* "" = the default user */
    int role;                               /* enum config_role; for a named user */
    unsigned gen;                           /* the users' generation it was resolved in */
};

enum acl_auth {
    ACL_AUTH_OK,
    ACL_AUTH_WRONGPASS,     /* unknown user or wrong password */
    ACL_AUTH_NOPASS,        /* AUTH <password> while default has none (Redis' own error) */
};

/* Check user and password (user NULL: the default user, "AUTH pass").
 * On success *id is the user. Takes the same time whether or not the
 * user exists. */
enum acl_auth acl_authenticate(const char *user, size_t ulen, const char *pass, size_t plen,
                               struct acl_id *id);

/* Whether id may run what only admins may. */
bool acl_is_admin(const struct acl_id *id);

/* The name to show: "default" for the default user. */
const char *acl_user_name(const struct acl_id *id);

/* True when the users changed since id was resolved; then acl_refresh(). */
bool acl_stale(const struct acl_id *id);
/* Take id's role from the users in force. False when its user is gone. */
bool acl_refresh(struct acl_id *id);

/* SIGHUP applied new users (main thread, after config_apply_reload). */
void acl_users_reloaded(void);

/* Log a failed authentication of door ("RESP", "HTTP") from addr, at most
 * one line a second, the next line counting those left out. The user is
 * named only when it exists (a mistyped password in the user field is
 * never logged). */
void acl_log_failure(const char *door, const char *addr, const char *user, size_t ulen);

#endif
