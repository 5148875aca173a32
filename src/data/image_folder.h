// The listing of an image folder: which files are images of which class in which split. Two
// layouts are understood:
//   - split folders, as Kaggle's BIRDS-525: DIR/train/<class>/*, and optionally DIR/valid/
//     (or DIR/val/) and DIR/test/ with the same class folders (one error naming the classes
//     that differ otherwise). Without a validation folder, `validation` of each class's training
//     files is held out; with one, `validation` must be 0.
//   - one tree, DIR/<class>/*: each class's files are split by fraction, `test` and
//     `validation` of them, by a seeded shuffle of the sorted names (the same split on every
//     machine and run; a file keeps its split while files of other classes come and go).
// DIR is the split layout when it holds a folder named `train`. Classes are the class folders'
// names, sorted by their bytes (UTF-8 and spaces are fine); every other regular file directly in
// a class folder is an image candidate (symbolic links followed; names starting with '.'
// ignored, as are files beside the class folders). Files are ordered by split, class, name.
// An empty class folder is a problem of the listing (data/image_dataset.h decides: an error,
// or a note with --bad-images skip).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace gt::data {

enum class Split { train = 0, validation = 1, test = 2 };
inline constexpr int kSplits = 3;
const char* split_name(Split s);  // "train", "validation", "test"

struct SplitRule {
  double validation = 0.0;  // fraction of each class held out for validation
  double test = 0.2;        // one tree only: fraction of each class for the test split
  uint64_t seed = 1;        // one tree (and a held-out validation) only: the shuffle's seed
};

struct ImageFile {
  std::string path;      // as opened: DIR/train/cat/1.jpg
  std::string relative;  // relative to DIR: train/cat/1.jpg
  uint64_t size = 0;     // bytes
  int64_t mtime_ns = 0;  // modification time, nanoseconds since the epoch
  int label = 0;         // index in classes
  Split split = Split::train;
};

struct FolderListing {
  std::string root;
  bool split_layout = false;
  std::vector<std::string> classes;
  std::vector<ImageFile> files;
  std::vector<std::string> empty_class_folders;  // paths of class folders with no files
};

// Lists `root`; gt::Error for a folder that is missing or unreadable, has no class folders,
// or whose splits disagree on the classes; gt::UsageError for fractions out of range.
FolderListing list_image_folder(const std::string& root, const SplitRule& rule);

}  // namespace gt::data
