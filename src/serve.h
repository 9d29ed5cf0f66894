/* serve: `optd serve`, the server's start-up and shutdown. */
#ifndef OPTD_SERVE_H
#define OPTD_SERVE_H

#include "config.h"

/* Runs until SIGTERM or SIGINT; returns the process exit status. */
int serve_run(const config *cfg);

#endif
