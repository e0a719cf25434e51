/*
 * syslogging.h - --syslog. syslog.h's LOG_WARNING collides with log.h's,
 * so syslog(3) is called from this one file, which includes only this.
 */
#ifndef SHELTER_SYSLOGGING_H
#define SHELTER_SYSLOGGING_H

enum sys_level { SYS_ERR, SYS_WARNING, SYS_INFO };

/* openlog("shelter", LOG_PID, LOG_USER). */
void sys_open(void);
void sys_msg(enum sys_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
