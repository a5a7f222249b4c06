// SaveTables / InstallWrappers against fake API tables: version and size checks, copy-then-wrap,
// and uninstall leaving a later tool's wrapper alone.
#include "hsa_layer/tables.h"

#include <gtest/gtest.h>

#include <cstring>

namespace hsapreempt::hsa {
namespace {

void* Fake(int n) { return reinterpret_cast<void*>(0x1000 + n * 8); }

struct FakeTables {
  HsaApiTable root{};
  CoreApiTable core{};
  AmdExtTable amd{};
  FakeTables() {
    root.version = {HSA_API_TABLE_MAJOR_VERSION, sizeof(HsaApiTable), 0, 0};
    core.version = {HSA_CORE_API_TABLE_MAJOR_VERSION, sizeof(CoreApiTable), 0, 0};
    amd.version = {HSA_AMD_EXT_API_TABLE_MAJOR_VERSION, sizeof(AmdExtTable), 0, 0};
    // Every slot gets a distinct non-null fake pointer.
    auto fill = [](void* table, size_t bytes) {
      auto** slots = reinterpret_cast<void**>(static_cast<char*>(table) + sizeof(ApiTableVersion));
      for (size_t i = 0; i < (bytes - sizeof(ApiTableVersion)) / sizeof(void*); ++i) slots[i] = Fake(i);
    };
    fill(&core, sizeof(core));
    fill(&amd, sizeof(amd));
    root.core_ = &core;
    root.amd_ext_ = &amd;
  }
};

TEST(TablesTest, SavesCopiesThenInstallsAndUninstalls) {
  FakeTables t;
  std::string why;
  ASSERT_TRUE(SaveTables(&t.root, &why)) << why;
  auto original_create = t.core.hsa_queue_create_fn;
  auto original_store = t.core.hsa_signal_store_screlease_fn;
  InstallWrappers(&t.root);
  EXPECT_NE(t.core.hsa_queue_create_fn, original_create);
  EXPECT_NE(t.core.hsa_signal_store_screlease_fn, original_store);
  EXPECT_EQ(Saved().core.hsa_queue_create_fn, original_create);  // the copy keeps the original
  // A slot we do not wrap is untouched.
  EXPECT_EQ(t.core.hsa_signal_load_relaxed_fn, Saved().core.hsa_signal_load_relaxed_fn);
  // A later tool wraps over one of ours: uninstall leaves its slot alone.
  auto later_tool = reinterpret_cast<decltype(t.core.hsa_queue_destroy_fn)>(Fake(9999));
  t.core.hsa_queue_destroy_fn = later_tool;
  UninstallWrappers(&t.root);
  EXPECT_EQ(t.core.hsa_queue_create_fn, original_create);
  EXPECT_EQ(t.core.hsa_signal_store_screlease_fn, original_store);
  EXPECT_EQ(t.core.hsa_queue_destroy_fn, later_tool);
}

TEST(TablesTest, RefusesUnknownMajorVersion) {
  FakeTables t;
  t.core.version.major_id = 2;
  std::string why;
  EXPECT_FALSE(SaveTables(&t.root, &why));
  EXPECT_NE(why.find("major"), std::string::npos) << why;
}

TEST(TablesTest, RefusesTableTooSmallForANeededSlot) {
  FakeTables t;
  // An older runtime whose amd_ext table ends before hsa_amd_queue_set_priority.
  t.amd.version.minor_id = offsetof(AmdExtTable, hsa_amd_queue_set_priority_fn);
  std::string why;
  EXPECT_FALSE(SaveTables(&t.root, &why));
  EXPECT_NE(why.find("lacks a slot"), std::string::npos) << why;
}

TEST(TablesTest, RefusesNullNeededSlotAndMissingTables) {
  FakeTables t;
  t.core.hsa_soft_queue_create_fn = nullptr;
  std::string why;
  EXPECT_FALSE(SaveTables(&t.root, &why));
  FakeTables u;
  u.root.amd_ext_ = nullptr;
  EXPECT_FALSE(SaveTables(&u.root, &why));
  EXPECT_FALSE(SaveTables(nullptr, &why));
}

TEST(TablesTest, OptionalSlotBeyondSmallTableIsNotInstalled) {
  FakeTables t;
  // Table ends right after the last required slot: hsa_amd_queue_cu_get_mask (optional) is
  // beyond it and must be neither read nor written.
  t.amd.version.minor_id = offsetof(AmdExtTable, hsa_amd_queue_cu_get_mask_fn);
  auto beyond = t.amd.hsa_amd_queue_cu_get_mask_fn;
  std::string why;
  ASSERT_TRUE(SaveTables(&t.root, &why)) << why;
  EXPECT_EQ(Saved().amd_ext.hsa_amd_queue_cu_get_mask_fn, nullptr);
  InstallWrappers(&t.root);
  EXPECT_EQ(t.amd.hsa_amd_queue_cu_get_mask_fn, beyond);
}

}  // namespace
}  // namespace hsapreempt::hsa
