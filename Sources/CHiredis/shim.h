#ifndef CHIREDIS_SHIM_H
#define CHIREDIS_SHIM_H

// Only the protocol half of hiredis is used: redisFormatSdsCommandArgv (the sds form of redisFormatCommandArgv)
// encodes commands and a redisReader decodes replies. Sockets, timeouts and reconnects belong to SwiftNIO, so none
// of hiredis's I/O functions are called.
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#endif
