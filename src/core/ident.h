/*
 * ident: the shape rules for every identifier a client may send.
 *
 * Pure checks with named limits. Each returns NULL when the value is
 * acceptable, or a short phrase saying what is wrong ("is longer than 512
 * bytes"), which the API puts after the field name in its error message.
 */
#ifndef OPTD_IDENT_H
#define OPTD_IDENT_H

#include <stddef.h>

#define IDENT_EXTERNAL_ID_MAX 512 /* bytes */
#define IDENT_EMAIL_MAX 254       /* RFC 5321 path limit */
#define IDENT_GROUP_ID_MAX 64
#define IDENT_NAME_MAX 128 /* group and key names */

const char *ident_check_external_id(const char *s);
const char *ident_check_email(const char *s);
const char *ident_check_group_id(const char *s);
const char *ident_check_name(const char *s);

/* Lower-cases the domain part in place; the local part is the owner's. */
void ident_email_normalize(char *s);

/* 1 when s[0..len) is well-formed UTF-8 without NUL or C0 controls. */
int ident_utf8_ok(const char *s, size_t len);

#endif
