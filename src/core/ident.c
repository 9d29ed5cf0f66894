/* ident: see ident.h. */
#include "core/ident.h"
#include "lib/utf8.h"

#include <ctype.h>
#include <string.h>

int ident_utf8_ok(const char *s, size_t len)
{
	/* Controls are refused too: no identifier needs one. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return utf8_valid(s, len);
}

const char *ident_check_external_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return "must not be empty";
	if (n > IDENT_EXTERNAL_ID_MAX)
		return "is longer than 512 bytes";
	if (!ident_utf8_ok(s, n))
		return "must be UTF-8 text without control characters";
	return NULL;
}

const char *ident_check_email(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	const char *at;

	if (n == 0)
		return "must not be empty";
	if (n > IDENT_EMAIL_MAX)
		return "is longer than 254 bytes";
	if (!ident_utf8_ok(s, n))
		return "must be UTF-8 text without control characters";
	at = strchr(s, '@');
	if (!at || at == s || strchr(at + 1, '@') || !at[1])
		return "is not an e-mail address";
	if (strpbrk(s, " \t<>()[],;:\\\"") || !strchr(at + 1, '.') ||
	    at[1] == '.' || s[n - 1] == '.')
		return "is not an e-mail address";
	return NULL;
}

const char *ident_check_group_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return "must not be empty";
	if (n > IDENT_GROUP_ID_MAX)
		return "is longer than 64 characters";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return "may hold only letters, digits, '-', '_' and '.'";
	}
	return NULL;
}

const char *ident_check_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return "must not be empty";
	if (n > IDENT_NAME_MAX)
		return "is longer than 128 bytes";
	if (!ident_utf8_ok(s, n))
		return "must be UTF-8 text without control characters";
	return NULL;
}

void ident_email_normalize(char *s)
{
	char *at = strchr(s, '@');

	for (char *p = at ? at + 1 : s + strlen(s); *p; p++)
		*p = (char)tolower((unsigned char)*p);
}
