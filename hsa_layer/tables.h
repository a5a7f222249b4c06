// The runtime's API tables as ROCr handed them to OnLoad, saved before any wrapper is installed.
//
// Every call the tool makes into ROCr goes through Saved() (never through the exported hsa_*
// symbols, which dispatch through the live table and would re-enter our own wrappers or another
// tool's). A slot the runtime's table did not have (older/smaller table) is null in the copy:
// callers that need an optional slot check it; the required slots are checked in SaveTables().
#ifndef HSA_LAYER_TABLES_H_
#define HSA_LAYER_TABLES_H_

#include <hsa_api_trace.h>

#include <cstddef>
#include <string>

namespace hsapreempt::hsa {

struct SavedTables {
  CoreApiTable core{};
  AmdExtTable amd_ext{};
  uint32_t core_bytes = 0;     // size of the runtime's core table (its minor_id)
  uint32_t amd_ext_bytes = 0;  // size of the runtime's amd_ext table
};

// The saved copies (valid after a successful SaveTables; zeroed before).
const SavedTables& Saved();

// True if a table of `table_bytes` bytes holds the slot at `slot_offset`.
inline bool HasSlot(uint32_t table_bytes, size_t slot_offset) {
  return table_bytes >= slot_offset + sizeof(void*);
}

// Checks the root/core/amd_ext table versions and that every slot the tool reads or wraps is
// present, then copies both tables. On failure returns false with `why` set and saves nothing.
bool SaveTables(const HsaApiTable* table, std::string* why);

// Installs the wrappers into the live tables (after SaveTables). Idempotent per table.
void InstallWrappers(HsaApiTable* table);

// Puts the saved originals back into `table` for every slot that still holds our wrapper (a tool
// loaded after us may have wrapped over it: then its slot is left alone).
void UninstallWrappers(HsaApiTable* table);

}  // namespace hsapreempt::hsa

#endif  // HSA_LAYER_TABLES_H_
