using System.CommandLine;
using System.Globalization;
using System.Text;
using Acp.GptOss.Hosting;
using Acp.GptOss.Inference.Llama;
using Acp.GptOss.Models;
using LlamaCpp;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Cli;

/// <summary><c>acp-gptoss doctor</c>: what this machine offers the agent.</summary>
internal static class DoctorCommand
{
    public static Command Create(StdioStreams streams, Func<ILoggerFactory> loggers)
    {
        var doctor = new Command("doctor", "Report the llama.cpp runtime LLamaSharp loaded, the devices it sees, the models found, memory and disk.");
        doctor.SetAction(async (_, cancellationToken) =>
        {
            var report = new StringBuilder();
            int exitCode = ExitCodes.Success;
            report.AppendLine(CultureInfo.InvariantCulture, $"acp-gptoss {AppVersion.Current}");
            try
            {
                LlamaBackend backend = LlamaRuntime.Initialize(loggers().CreateLogger("Doctor"), nativeDirectory: null);
                report.AppendLine(CultureInfo.InvariantCulture, $"llama.cpp runtime: {backend.LibraryPath} ({LlamaBackend.RuntimePackage})");
                report.AppendLine(CultureInfo.InvariantCulture, $"build: {backend.Variant} (the AVX level LLamaSharp chose for this CPU), ggml {backend.Version}, commit {backend.Commit}");
                foreach (LlamaDevice device in backend.Devices)
                {
                    report.AppendLine(CultureInfo.InvariantCulture, $"device: {device}");
                }

                List<LlamaDevice> gpus = [.. backend.Devices.Where(d => d.IsGpu)];
                report.AppendLine(CultureInfo.InvariantCulture, $"GPU backends: {(gpus.Count == 0 ? "none (every layer runs on the CPU)" : string.Join(", ", gpus.Select(g => g.Name)))}");

                report.AppendLine(CultureInfo.InvariantCulture, $"CPU features: {backend.SystemInfo.Trim()}");
            }
            catch (LlamaException e)
            {
                report.AppendLine(CultureInfo.InvariantCulture, $"llama.cpp runtime: MISSING. {e.Message}");
                exitCode = ExitCodes.InputError;
            }

            report.AppendLine(CultureInfo.InvariantCulture, $"RAM: {Gigabytes(MemoryPreflight.TotalMemory())} GB total, {Gigabytes(MemoryPreflight.AvailableMemory())} GB available");
            // The home may not exist yet: the disk it will be on is that of its nearest folder that does.
            string existing = AppDirectories.Home;
            while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
            {
                existing = parent;
            }

            var home = new DriveInfo(existing);
            report.AppendLine(CultureInfo.InvariantCulture, $"disk: {Gigabytes(home.AvailableFreeSpace)} GB free on {home.Name}");

            List<FoundModel> models = ModelDiscovery.Find();
            report.AppendLine(CultureInfo.InvariantCulture, $"models ({models.Count} found; searched GPT_OSS_GGUF_PATH, {string.Join(", ", ModelDiscovery.SearchRoots())}):");
            foreach (FoundModel model in models)
            {
                string what = model.Problem is null ? $"{model.Architecture}, {Gigabytes(model.Bytes)} GB" : $"unusable: {model.Problem}";
                report.AppendLine(CultureInfo.InvariantCulture, $"  {model.Path} ({what})");
            }

            await streams.Output.WriteAsync(Encoding.UTF8.GetBytes(report.ToString()), cancellationToken).ConfigureAwait(false);
            await streams.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
            return exitCode;
        });
        return doctor;
    }

    private static string Gigabytes(long? bytes) => bytes is { } b ? (b / 1e9).ToString("0.0", CultureInfo.InvariantCulture) : "?";
}
