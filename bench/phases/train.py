# A PyTorch training script for the phase check: an MLP on random data, timed loop of about
# LOOP_S seconds. It reads the NVML energy counter itself around its loop (device synchronised)
# and writes `phase train begin/end` to $GREENTRAIN_MARK_FD just inside those reads; it prints
# its own counter difference as a greentrain-metric line.
import os, sys, time
import torch, pynvml

loop_s = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
dev = torch.device("cuda:0")
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(1024, 4096), torch.nn.ReLU(),
                            torch.nn.Linear(4096, 4096), torch.nn.ReLU(),
                            torch.nn.Linear(4096, 10)).to(dev)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
x = torch.randn(4096, 1024, device=dev)
y = torch.randint(0, 10, (4096,), device=dev)
def step():
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
for _ in range(20):
    step()
torch.cuda.synchronize()
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)
fd = int(os.environ["GREENTRAIN_MARK_FD"])
def mark(what):
    os.write(fd, f"phase train {what}\n".encode())
e0 = pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
mark("begin")
t0 = time.monotonic()
n = 0
while time.monotonic() - t0 < loop_s:
    for _ in range(50):
        step()
    torch.cuda.synchronize()
    n += 50
torch.cuda.synchronize()
mark("end")
e1 = pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
t1 = time.monotonic()
print(f"greentrain-metric script_nvml_train_j={(e1 - e0) / 1000.0}")
print(f"greentrain-metric script_loop_s={t1 - t0}")
print(f"steps {n}", file=sys.stderr)
