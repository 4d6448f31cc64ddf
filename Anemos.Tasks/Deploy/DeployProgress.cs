using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Anemos.Tasks.Deploy;

/// <summary>One finished phase of a deploy: its name, how long it took, the bytes it sent and what it did.</summary>
public sealed record DeployPhase(string Name, double Seconds, long BytesSent, string Detail, bool Succeeded);

/// <summary>
/// Reports each deploy phase as it ends ("deploy x: upload 1.2 s, 20 KB sent: overlay, manifest"),
/// keeps the list for the task's output and writes it as deploy.json for CI and the bench.
/// </summary>
public sealed class DeployProgress(TaskLoggingHelper log, string hostName)
{
    readonly List<DeployPhase> _phases = [];
    readonly Stopwatch _total = Stopwatch.StartNew();

    public IReadOnlyList<DeployPhase> Phases => _phases;
    /// <summary>The host's firmware as the helper's facts found it (<see cref="FirmwareFacts"/>); null before the facts.</summary>
    public string? Firmware { get; set; }
    const string FirmwareField = "firmware";
    public long BytesSent => _phases.Sum(p => p.BytesSent);
    public double TotalSeconds => _total.Elapsed.TotalSeconds;

    public Phase Begin(string name)
    {
        log.LogMessage(MessageImportance.Normal, $"  deploy {hostName}: {name} ...");
        return new Phase(this, name);
    }

    void End(Phase phase, bool succeeded)
    {
        var entry = new DeployPhase(phase.Name, phase.Elapsed, phase.BytesSent, phase.Detail, succeeded);
        _phases.Add(entry);
        string seconds = entry.Seconds.ToString("0.0", CultureInfo.InvariantCulture);
        // The rate tells a slow link from a slow host; for a phase shown as 0.0 s it says nothing.
        string rate = seconds != "0.0" ? $" at {ByteSize.Format((long)(entry.BytesSent / entry.Seconds))}/s" : "";
        string bytes = entry.BytesSent > 0 ? $", {ByteSize.Format(entry.BytesSent)} sent{rate}" : "";
        string detail = entry.Detail.Length > 0 ? ": " + entry.Detail : "";
        log.LogMessage(MessageImportance.High, $"  deploy {hostName}: {entry.Name}{(succeeded ? "" : " FAILED")} {seconds} s{bytes}{detail}");
    }


    public void WriteReport(string path, string outcome, bool dryRun)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        Core.AtomicFile.Write(path, stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            json.WriteStartObject();
            json.WriteString("host", hostName);
            json.WriteString("outcome", outcome);
            json.WriteBoolean("dryRun", dryRun);
            json.WriteNumber("bytesSent", BytesSent);
            json.WriteNumber("seconds", Math.Round(TotalSeconds, 3));
            if (Firmware is not null) json.WriteString(FirmwareField, Firmware);
            json.WriteStartArray("phases");
            foreach (var phase in _phases)
            {
                json.WriteStartObject();
                json.WriteString("name", phase.Name);
                json.WriteNumber("seconds", Math.Round(phase.Seconds, 3));
                json.WriteNumber("bytesSent", phase.BytesSent);
                json.WriteString("detail", phase.Detail);
                json.WriteBoolean("succeeded", phase.Succeeded);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    /// <summary>
    /// The firmware a host's last deploy report recorded ("uefi" or "bios"), what a rehearsal's auto
    /// firmware follows when the host has no Firmware metadata; null without a readable report.
    /// </summary>
    public static string? RecordedFirmware(string? reportFile)
    {
        if (string.IsNullOrWhiteSpace(reportFile) || !File.Exists(reportFile)) return null;
        try
        {
            using var report = JsonDocument.Parse(File.ReadAllBytes(reportFile));
            return report.RootElement.ValueKind == JsonValueKind.Object && report.RootElement.TryGetProperty(FirmwareField, out var firmware)
                && firmware.GetString() is Core.Protocol.FirmwareNames.Uefi or Core.Protocol.FirmwareNames.Bios ? firmware.GetString() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException)
        {
            // Only a hint for the rehearsal: a report it cannot read leaves the default.
            return null;
        }
    }

    /// <summary>A running phase: Complete() it; disposing one that was not completed reports it as failed.</summary>
    public sealed class Phase(DeployProgress progress, string name) : IDisposable
    {
        readonly Stopwatch _clock = Stopwatch.StartNew();
        bool _ended;

        public string Name { get; } = name;
        public string Detail { get; set; } = "";
        public long BytesSent { get; set; }
        public double Elapsed => _clock.Elapsed.TotalSeconds;

        public void Complete(string? detail = null)
        {
            if (detail is not null) Detail = detail;
            _ended = true;
            progress.End(this, succeeded: true);
        }

        public void Dispose()
        {
            if (_ended) return;
            _ended = true;
            progress.End(this, succeeded: false);
        }
    }
}
