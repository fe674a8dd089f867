// boot_image: reads the image, picks the protocol (sim/boot/boot.h gives the order),
// checks that the options given apply to it, and hands over to the loader.
#include "sim/boot/boot.h"

#include <elf.h>

#include "sim/boot/util.h"
#include "sim/machine.h"
#include "sim/sha256.h"

namespace sim {

namespace {

std::string detect(const std::vector<uint8_t>& file) {
  if (is_bzimage(file)) return "linux";
  if (has_multiboot_header(file)) return "multiboot";
  if (has_pvh_note(file)) return "pvh";
  if (boot::is_elf(file)) return "elf64";  // load_elf64 explains what is wrong with other ELFs
  throw ImageError("unknown image format (expected a Linux bzImage, a Multiboot image or an ELF64 "
                   "executable; raw binaries need --format flat)");
}

// Options that only some formats use: naming the option when it would be ignored.
void check_options(const std::string& fmt, const BootOptions& o) {
  const bool flat = fmt == "flat";
  if (!flat && (o.entry_mode != BootOptions{}.entry_mode || o.load_addr != BootOptions{}.load_addr ||
                o.entry != BootOptions{}.entry))
    throw ImageError("--entry-mode, --load-addr and --entry are for --format flat (this is a " + fmt +
                     " image)");
  if (!o.modules.empty() && fmt != "multiboot")
    throw ImageError("--module is for Multiboot images (this is a " + fmt + " image; Linux and PVH take --initrd)");
  if (!o.initrd.empty() && fmt != "linux" && fmt != "pvh")
    throw ImageError("--initrd is for Linux and PVH images (this is a " + fmt +
                     " image; Multiboot takes --module)");
  if (!o.append.empty() && (fmt == "elf64" || flat))
    throw ImageError("--append: " + fmt + " images take no command line");
}

}  // namespace

LoadedImage boot_image(Machine& m, const BootOptions& o) {
  static const char* const kFormats[] = {"auto", "linux", "multiboot", "pvh", "elf64", "flat"};
  bool known = false;
  for (const char* f : kFormats) known |= o.format == f;
  if (!known)
    throw ImageError("--format: unknown format '" + o.format + "' (auto, linux, multiboot, pvh, elf64, flat)");
  std::vector<uint8_t> file = read_file(o.path);
  if (file.empty()) throw ImageError("image '" + o.path + "' is empty");
  const std::string fmt = o.format == "auto" ? detect(file) : o.format;
  check_options(fmt, o);
  LoadedImage li;
  if (fmt == "linux") li = load_linux(m, file, o);
  else if (fmt == "multiboot") li = load_multiboot(m, file, o);
  else if (fmt == "pvh") li = load_pvh(m, file, o);
  else if (fmt == "elf64") li = load_elf64(m, file);
  else li = load_flat(m, file, o);
  li.format = fmt;
  li.sha256 = sha256_hex(file.data(), file.size());
  li.bytes = file.size();
  return li;
}

}  // namespace sim
