/* syslogging.c - see syslogging.h. */
#include "config.h"

#include <stdarg.h>
#include <syslog.h>

#include "syslogging.h"

void sys_open(void)
{
	openlog("shelter", LOG_PID, LOG_USER);
}

void sys_msg(enum sys_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO };
	va_list ap;

	va_start(ap, fmt);
	vsyslog(prio[level], fmt, ap);
	va_end(ap);
}
